"""Fixtures of the scan orchestration tests: a real ``skyscan serve`` (dummy reco, fast progress),
a misbehaving proxy in front of it, and SkyMist apps whose tracker talks to it over HTTP.

The service has a dummy-reco gate (``gate``): a test that needs a scan to be still running when it
acts (abort, retract, freeze, kill the daemon) holds it after a few pixels, then releases it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from skymist.app import App
from skymist.scans.backend import make_scanner_client
from skymist.scans.tracker import ScanTracker
from tests.conftest import fresh_database
from tests.support.flaky_proxy import FlakyProxy
from tests.support.pixel_gate import PixelGate, released_before_and_after
from tests.support.skyscan_service import USER_TOKEN, Service, service_env
from tests.support.slack_api import SlackStandIn
from tests.waiting import wait_for

#: a scan of the dummy reco that takes a few seconds (long enough to be watched, frozen, replaced)
DUMMY_PLAN = {
    "name": "dummy",
    "reco_algo": "dummy",
    "nsides": {1: 0, 2: 12, 4: 12},
    "priority": 100,
    "max_pixel_reco_time_s": 600,  # a fit waiting at the gate is fit time
    "cluster": "local",
    "workers": 1,
    "deadline_s": 300.0,
}


@pytest.fixture(scope="session")
def skyscan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One ``skyscan serve`` per test worker, shared by the scan and console tests' files (each test's
    scans are its own; a test that holds the gate releases it at its end)."""
    gate_dir = tmp_path_factory.mktemp("skyscan-gate")
    with fresh_database("skyscan_scans") as url:
        env = service_env(
            MAX_CONCURRENT_SCANS=2, RECO_OPTIONS={"dummy": {"delay_s": 0.04}}, DUMMY_GATE_DIR=gate_dir
        )
        service = Service(url, env).start()
        try:
            yield service
        finally:
            service.stop()


@pytest.fixture
def gate(skyscan: Service) -> Iterator[PixelGate]:
    """The gate of the worker's skyscan; whatever the test held is released at its end."""
    with released_before_and_after(skyscan.gate) as running:
        yield running


@pytest.fixture
def proxy(skyscan: Service) -> Iterator[FlakyProxy]:
    with FlakyProxy(skyscan.url, hang_s=2.5) as running:
        yield running


def scan_settings(url: str, slack: SlackStandIn | None = None, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "scans_enabled": True,
        "scanner_url": url,
        "scanner_token": USER_TOKEN,
        "scanner_timeout_s": 1.0,
        "scan_plans": {cls: [DUMMY_PLAN] for cls in ("GOLD", "BRONZE", "CASCADE", "UNCLASSIFIED")},
        "scan_poll_realtime_s": 0.2,
        "scan_poll_s": 0.2,
        "scan_backoff_max_s": 0.3,
        "scan_stuck_after_s": 60.0,
        "scan_lease_s": 5.0,
    }
    if slack is not None:
        values.update(
            slack_mode="web_api",
            slack_api_url=f"{slack.url}/api",
            slack_bot_token=slack.token,
            slack_channel="C0SCANS",
        )
    values.update(overrides)
    return values


def drive(
    app: App,
    until: Callable[[], bool],
    timeout_s: float = 60.0,
    tracker: ScanTracker | None = None,
    what: str = "the scan tracker to reach the condition",
) -> ScanTracker:
    """Tick a tracker until ``until()`` is true."""
    ticking = tracker or ScanTracker(app, make_scanner_client(app.settings))

    def ticked() -> bool:
        ticking.tick()
        return until()

    wait_for(ticked, timeout_s, what, every_s=0.1)
    return ticking
