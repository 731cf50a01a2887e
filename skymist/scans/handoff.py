"""The hand-off of final scan results to the skymap step.

When a scan's final result is stored, its alert moves to ``localized_pending``. Consumers registered
here (the skymap step, the archive: :mod:`skymist.runtime.lifecycle`) are then called with the final
scan (its plan entry as stored) and its verbatim result bytes, read together in one session. The trigger is
durable: :func:`pending` finds every alert still ``localized_pending`` with a final scan, so a
consumer that failed, or a daemon that died in between, is simply called again (consumers are
idempotent per scan).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    #: the scan's plan as stored (what its reco is: SkyDriver's results don't say); None: not read yet
    plan: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        return f"scan:{self.scan_id}:{self.backend_scan_id}"


FinalScanConsumer = Callable[[App, FinalScan, bytes], None]


def pending(session: Session, max_attempts: int, limit: int = 20) -> list[FinalScan]:
    """Final scans of alerts still waiting for the skymap step (newest final scan per alert), except
    those whose skymap step already failed ``max_attempts`` times."""
    rows = session.execute(
        select(Scan.id, Scan.alert_id, Scan.revision, Scan.plan_entry, Scan.backend_scan_id, Scan.plan)
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
        plan = dict(row.plan) if row.plan else None
        out.append(FinalScan(row.id, row.alert_id, row.revision, row.plan_entry, row.backend_scan_id, plan))
    return out[:limit]


def results_of(session: Session, finals: list[FinalScan]) -> dict[int, bytes]:
    """The verbatim final results of ``finals``, by scan id (a scan without one is left out)."""
    if not finals:
        return {}
    rows = session.execute(
        select(Scan.id, Scan.result).where(Scan.id.in_([final.scan_id for final in finals]))
    ).all()
    return {row.id: row.result for row in rows if row.result is not None}


def with_plan(session: Session, final: FinalScan) -> tuple[FinalScan, bytes | None]:
    """``final`` with its plan, and its result, read in ``session`` (for a final scan named by hand)."""
    row = session.execute(select(Scan.plan, Scan.result).where(Scan.id == final.scan_id)).one()
    plan = dict(row.plan) if row.plan else None
    return FinalScan(
        final.scan_id, final.alert_id, final.revision, final.plan_entry, final.backend_scan_id, plan
    ), row.result


class Handoff:
    """Calls the registered consumers for every pending final scan."""

    def __init__(self, app: App, consumers: list[FinalScanConsumer]) -> None:
        self.app = app
        self.consumers = consumers

    def sweep(self) -> int:
        if not self.consumers:
            return 0
        with self.app.sessions() as session:  # one session: the pending scans, their plans and results
            finals = pending(session, self.app.settings.handoff_max_attempts)
            results = results_of(session, finals)
        handed = 0
        for final in finals:
            result = results.get(final.scan_id)
            if result is not None and self._consume(final, result):
                handed += 1
        return handed

    def hand_over(self, final: FinalScan) -> bool:
        """Call every consumer with the scan's plan and result (read in one session); a failure is
        counted on the scan, and after ``handoff_max_attempts`` the shifters are told and the sweep
        stops trying."""
        with self.app.sessions() as session:
            final, result = with_plan(session, final)
        return result is not None and self._consume(final, result)

    def _consume(self, final: FinalScan, result: bytes) -> bool:
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
