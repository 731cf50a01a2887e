"""Helpers of the refined-products tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from skymist.app import App
from skymist.ingest.inbox import Ingestor
from skymist.states import AlertState, OutboxState, check_transition
from skymist.store.models import Alert, OutboxRow
from tests.helpers import envelope, raw, real_event


def record_alert(app: App, shared_dir: Path, *, classified: bool = True, **alert: Any) -> int:
    """Ingest IceCube-220524A's real event (as a BRONZE alert envelope, or bare); returns the alert id."""
    event = real_event(shared_dir)
    [result] = Ingestor(app).ingest_batch([raw(envelope(event, **alert) if classified else event)])
    assert result.status == "processed", result.summary
    with app.sessions() as session:
        alert_id: int = session.execute(select(Alert.id)).scalar_one()
    return alert_id


def mark_localization_pending(app: App, alert_id: int) -> None:
    """What scan orchestration does when a final scan result is stored."""
    with app.sessions() as session, session.begin():
        alert = session.execute(select(Alert).where(Alert.id == alert_id).with_for_update()).scalar_one()
        alert.state = check_transition(alert.state, AlertState.LOCALIZED_PENDING)


def outbox(app: App, alert_id: int) -> list[OutboxRow]:
    with app.sessions() as session:
        return list(
            session.execute(select(OutboxRow).where(OutboxRow.alert_id == alert_id).order_by(OutboxRow.id))
            .scalars()
            .all()
        )


def products(rows: list[OutboxRow], *states: OutboxState) -> list[tuple[str, int | None]]:
    return sorted((row.product, row.revision) for row in rows if not states or row.state in states)
