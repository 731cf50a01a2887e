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


def pending(session: Session, limit: int = 20) -> list[FinalScan]:
    """Final scans of alerts still waiting for the skymap step (newest final scan per alert)."""
    rows = session.execute(
        select(Scan.id, Scan.alert_id, Scan.revision, Scan.plan_entry, Scan.backend_scan_id)
        .join(Alert, Alert.id == Scan.alert_id)
        .where(Alert.state == AlertState.LOCALIZED_PENDING, Scan.state == ScanState.FINAL)
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
            finals = pending(session)
        handed = 0
        for final in finals:
            with self.app.sessions() as session:
                result = session.execute(select(Scan.result).where(Scan.id == final.scan_id)).scalar_one()
            if result is None:
                continue
            for consumer in self.consumers:
                try:
                    consumer(self.app, final, result)
                except Exception:  # the alert stays localized_pending: tried again at the next sweep
                    log.exception("final-scan consumer failed", extra={"scan_id": final.scan_id})
                    continue
            handed += 1
        return handed
