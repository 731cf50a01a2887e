"""Writing outbox rows (inside the caller's transaction) and cancelling superseded ones."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.states import OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow
from skymist.store.upsert import dialect_insert

SINK_KAFKA = "kafka"
SINK_SLACK = "slack"

#: products that still go out after an alert is retracted (the retraction's own); the dispatcher
#: cancels every other unsent product of a retracted alert
RETRACTION_PRODUCTS = frozenset(
    {"retraction_notice_json", "retraction_voevent", "slack_retraction", "retraction_circular"}
)


def enqueue(
    session: Session,
    *,
    sink: str,
    destination: str,
    product: str,
    idempotency_key: str,
    payload: bytes,
    content_type: str,
    alert_id: int | None = None,
    revision: int | None = None,
    message_key: bytes | None = None,
) -> OutboxRow:
    """Add one row for one sink. The idempotency key is unique: the same product is never queued twice."""
    existing = session.execute(
        select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    row = OutboxRow(
        sink=sink,
        destination=destination,
        product=product,
        idempotency_key=idempotency_key,
        payload=payload,
        content_type=content_type,
        alert_id=alert_id,
        revision=revision,
        message_key=message_key,
        state=OutboxState.PENDING,
        attempts=0,
    )
    session.add(row)
    return row


def enqueue_many(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert several outbox rows in one statement; rows whose idempotency key exists are skipped.

    Each dict has the keyword arguments of :func:`enqueue`. Returns how many were new.
    """
    if not rows:
        return 0
    now = utcnow()
    values = [
        {
            "state": OutboxState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "alert_id": None,
            "revision": None,
            "message_key": None,
            **row,
        }
        for row in rows
    ]
    stmt = (
        dialect_insert(session, OutboxRow.__table__)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxRow.id)
    )
    return len(session.execute(stmt, values).all())


def cancel_pending(
    session: Session, alert_id: int, reason: str, keep_products: frozenset[str] = frozenset()
) -> int:
    """Cancel every unsent row of an alert (a retraction or a human action supersedes them)."""
    rows = session.execute(
        select(OutboxRow)
        .where(OutboxRow.alert_id == alert_id, OutboxRow.state.in_([OutboxState.PENDING, OutboxState.DEAD]))
        .with_for_update()
    ).scalars()
    count = 0
    for row in rows:
        if row.product in keep_products:
            continue
        row.state = check_transition(row.state, OutboxState.CANCELLED)
        row.last_error = f"cancelled: {reason}"
        count += 1
    return count
