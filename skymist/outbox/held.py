"""Refined notices held back until a human approves the Circular (``rev1_requires_approval``).

A held row is an ordinary ``pending`` outbox row that is not due: queued with a ``held_note``,
its ``next_attempt_at`` is :data:`~skymist.outbox.queue.HELD_UNTIL`, so no dispatcher claims it.
Approval makes it due now; a rejection, a rescan or a retraction cancels it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from skymist.outbox.queue import HELD_UNTIL
from skymist.states import OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow

HOLD_NOTE = "held: waiting for a human to approve the Circular"
#: the products a refined revision holds back
HELD_PRODUCTS: tuple[str, ...] = ("notice_json", "voevent")


def held_where(alert_id: int, revision: int | None) -> list[Any]:
    where = [
        OutboxRow.alert_id == alert_id,
        OutboxRow.product.in_(HELD_PRODUCTS),
        OutboxRow.state == OutboxState.PENDING,
        OutboxRow.next_attempt_at >= HELD_UNTIL,
    ]
    if revision is not None:
        where.append(OutboxRow.revision == revision)
    return where


def release_held(session: Session, alert_id: int, revision: int) -> int:
    """Make the held rows of ``revision`` due now; returns how many."""
    result = session.execute(
        update(OutboxRow)
        .where(*held_where(alert_id, revision))
        .values(next_attempt_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cancel_held(session: Session, alert_id: int, reason: str, *, revision: int | None = None) -> int:
    """Cancel the held rows of ``revision`` (every revision if None); returns how many."""
    rows = session.execute(
        select(OutboxRow).where(*held_where(alert_id, revision)).with_for_update()
    ).scalars()
    count = 0
    for row in rows:
        row.state = check_transition(row.state, OutboxState.CANCELLED)
        row.last_error = f"cancelled: {reason}"
        count += 1
    return count
