"""The health banner of every console page: ``skymist check``'s checks (skymist.runtime.checks), run
at most once per ``console_live_refresh_s`` (at least every 2 s) for all the console's users, and
shown when the overall status is WARNING or CRITICAL, naming the checks that are not OK."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from skybase.json_types import JSONObject
from skymist.app import App
from skymist.runtime.checks import CheckResult, Probe, Status, overall, run_checks

#: the checks are run again after at least this long (whatever console_live_refresh_s says)
MIN_AGE_S = 2.0


def banner_of(results: list[CheckResult]) -> JSONObject:
    """``{"status": "CRITICAL", "show": True, "checks": [{"name", "status", "summary"}, ...]}``."""
    status = overall(results)
    failing = [r for r in results if r.status != Status.OK]
    return {
        "status": status.name,
        "show": status in (Status.WARNING, Status.CRITICAL),
        "checks": [{"name": r.name, "status": r.status.name, "summary": r.summary} for r in failing],
    }


@dataclass
class HealthBanner:
    """The latest checks' banner, shared by every request of one console."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _at: float = -1e9
    _banner: JSONObject | None = None

    def remember(self, results: list[CheckResult]) -> JSONObject:
        banner = banner_of(results)
        self._banner, self._at = banner, time.monotonic()
        return banner

    def get(self, app: App) -> JSONObject:
        """The banner, the checks run again when the last run is older than the refresh period; a
        request arriving while another runs them gets the last banner (the first one waits)."""
        max_age = max(app.settings.console_live_refresh_s, MIN_AGE_S)
        if self._banner is not None and time.monotonic() - self._at < max_age:
            return self._banner
        if not self._lock.acquire(blocking=self._banner is None):
            assert self._banner is not None
            return self._banner
        try:
            if self._banner is not None and time.monotonic() - self._at < max_age:
                return self._banner
            probe = Probe(app)
            try:
                return self.remember(run_checks(probe))
            finally:
                probe.close()
        finally:
            self._lock.release()
