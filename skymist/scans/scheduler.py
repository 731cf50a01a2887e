"""Background jobs of the daemon (APScheduler): the scan tracker and the final-scan hand-off."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from skymist.app import App
from skymist.scans.handoff import FinalScan, FinalScanConsumer, Handoff
from skymist.scans.tracker import ScanTracker

log = logging.getLogger(__name__)

HANDOFF_INTERVAL_S = 2.0


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:  # the store or the backend may be away for a while: the next run tries again
            log.exception("background job failed", extra={"job": name})

    return run


def localize_consumer() -> FinalScanConsumer | None:
    """The skymap step, if this installation has it."""
    import importlib

    try:
        localize_alert = importlib.import_module("skymist.refine.localize").localize_alert
    except ModuleNotFoundError:
        return None

    def consume(app: App, final: FinalScan, result: bytes) -> None:
        localize_alert(app, final.alert_id, result, scan_ref=final.ref)

    return consume


def start_background_jobs(app: App, tracker: ScanTracker, handoff: Handoff) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )
    now = dt.datetime.now(dt.UTC)
    scheduler.add_job(
        _guarded("scan-tracker", tracker.tick),
        "interval",
        seconds=app.settings.scan_tick_s,
        id="scan-tracker",
        next_run_time=now,
    )
    scheduler.add_job(
        _guarded("final-scan-handoff", handoff.sweep),
        "interval",
        seconds=HANDOFF_INTERVAL_S,
        id="final-scan-handoff",
        next_run_time=now,
    )
    scheduler.start()
    return scheduler
