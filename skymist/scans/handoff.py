"""The hand-off of final scan results to the skymap step.

When a scan's final result is stored, its alert moves to ``localized_pending``. Consumers registered
here (the skymap step) are then called with the scan and its verbatim result bytes. The trigger is
durable: :func:`pending` finds every alert still ``localized_pending`` with a final scan, so a
consumer that failed, or a daemon that died in between, is simply called again (consumers are
idempotent per scan).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.scans.milestones import queue_milestone
from skymist.states import AlertState, ScanState
from skymist.store.models import Alert
from skymist.store.scan_models import Scan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinalScan:
    scan_id: int
    alert_id: int
    revision: int
    plan_entry: str
    backend_scan_id: str

    @property
    def ref(self) -> str:
        return f"scan:{self.scan_id}:{self.backend_scan_id}"


FinalScanConsumer = Callable[[App, FinalScan, bytes], None]


def pending(session: Session, max_attempts: int, limit: int = 20) -> list[FinalScan]:
    """Final scans of alerts still waiting for the skymap step (newest final scan per alert), except
    those whose skymap step already failed ``max_attempts`` times."""
    rows = session.execute(
        select(Scan.id, Scan.alert_id, Scan.revision, Scan.plan_entry, Scan.backend_scan_id)
        .join(Alert, Alert.id == Scan.alert_id)
        .where(
            Alert.state == AlertState.LOCALIZED_PENDING,
            Scan.state == ScanState.FINAL,
            Scan.handoff_attempts < max_attempts,
        )
        .order_by(Scan.alert_id, Scan.finished_at.desc())
        .limit(limit * 4)
    ).all()
    seen: set[int] = set()
    out = []
    for row in rows:
        if row.alert_id in seen or row.backend_scan_id is None:
            continue
        seen.add(row.alert_id)
        out.append(FinalScan(row.id, row.alert_id, row.revision, row.plan_entry, row.backend_scan_id))
    return out[:limit]


class Handoff:
    """Calls the registered consumers for every pending final scan."""

    def __init__(self, app: App, consumers: list[FinalScanConsumer]) -> None:
        self.app = app
        self.consumers = consumers

    def sweep(self) -> int:
        if not self.consumers:
            return 0
        with self.app.sessions() as session:
            finals = pending(session, self.app.settings.handoff_max_attempts)
        handed = 0
        for final in finals:
            if self.hand_over(final):
                handed += 1
        return handed

    def hand_over(self, final: FinalScan) -> bool:
        """Call every consumer with the scan's result; a failure is counted on the scan, and after
        ``handoff_max_attempts`` the shifters are told and the sweep stops trying."""
        with self.app.sessions() as session:
            result = session.execute(select(Scan.result).where(Scan.id == final.scan_id)).scalar_one()
        if result is None:
            return False
        for consumer in self.consumers:
            try:
                consumer(self.app, final, result)
            except Exception as exc:  # the alert stays localized_pending: tried again at the next sweep
                log.exception("final-scan consumer failed", extra={"scan_id": final.scan_id})
                self._failed(final, f"{type(exc).__name__}: {str(exc)[:500]}")
                return False
        return True

    def _failed(self, final: FinalScan, error: str) -> None:
        with self.app.sessions() as session, session.begin():
            scan = session.get(Scan, final.scan_id, with_for_update=True)
            if scan is None:
                return
            scan.handoff_attempts += 1
            scan.handoff_error = error
            if scan.handoff_attempts < self.app.settings.handoff_max_attempts:
                return
            alert = session.get(Alert, scan.alert_id)
            queue_milestone(
                session,
                self.app.settings,
                self.app.renderer,
                scan_id=scan.id,
                alert_id=scan.alert_id,
                subject=(alert.name if alert and alert.name else f"alert {scan.alert_id}"),
                plan_entry=scan.plan_entry,
                milestone="skymap_failed",
                key_suffix=f":{scan.backend_scan_id}",
                backend_scan_id=scan.backend_scan_id,
                priority=scan.priority,
                percent_done=100.0,
                detail=f"gave up after {scan.handoff_attempts} attempts: {error}. After a fix: "
                f"skymist scans localize {scan.id}",
            )
