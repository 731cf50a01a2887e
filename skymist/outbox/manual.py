"""What a human does to outbox rows by hand (``skymist outbox retry|cancel`` and the console).

* retry: a ``dead`` row goes back to ``pending`` with its attempts reset (after the sink is fixed);
* cancel: a ``pending`` or ``dead`` row becomes ``cancelled`` and is never sent (audited, with why).

Both lock the rows (``FOR UPDATE``) and re-read their states first, and both refuse the whole request
when one row is not in a state the action applies to, naming it: nothing is half done.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from skymist import audit
from skymist.states import OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow


class OutboxActionError(ValueError):
    """A retry or cancel that cannot be done as asked (the message names the row and its state)."""


def _locked(session: Session, ids: Sequence[int]) -> list[OutboxRow]:
    rows = list(
        session.execute(
            select(OutboxRow).where(OutboxRow.id.in_(list(ids))).order_by(OutboxRow.id).with_for_update()
        ).scalars()
    )
    missing = set(ids) - {row.id for row in rows}
    if missing:
        raise OutboxActionError(f"no outbox row with id {', '.join(map(str, sorted(missing)))}")
    return rows


def _audit(session: Session, row: OutboxRow, action: str, by: str, reason: str | None) -> None:
    audit.record(
        session,
        actor=by,
        action=action,
        subject_kind="outbox",
        subject_id=row.id,
        alert_id=row.alert_id,
        reason=reason,
        details={"product": row.product, "idempotency_key": row.idempotency_key},
    )


def retry_rows(
    sessions: sessionmaker[Session],
    ids: Sequence[int] = (),
    *,
    all_dead: bool = False,
    by: str | None = None,
    reason: str | None = None,
) -> list[int]:
    """Queue dead rows again (``ids``, or every dead row with ``all_dead``); audited when ``by`` is
    given. Returns the ids queued."""
    if not ids and not all_dead:
        raise OutboxActionError("name outbox row ids or give --all-dead")
    with sessions() as session, session.begin():
        if ids:
            rows = _locked(session, ids)
        else:
            stmt = select(OutboxRow).where(OutboxRow.state == OutboxState.DEAD).with_for_update()
            rows = list(session.execute(stmt).scalars())
        for row in rows:
            if row.state != OutboxState.DEAD:
                raise OutboxActionError(
                    f"outbox row {row.id} is {row.state.value}; only dead rows are retried by hand"
                )
        for row in rows:
            row.state = check_transition(row.state, OutboxState.PENDING)
            row.attempts, row.next_attempt_at, row.last_error = 0, utcnow(), None
            if by is not None:
                _audit(session, row, "outbox_retried", by, reason)
        return [row.id for row in rows]


def cancel_rows(sessions: sessionmaker[Session], ids: Sequence[int], *, by: str, reason: str) -> list[int]:
    """Never send these pending or dead rows (audited with ``by`` and ``reason``); returns their ids."""
    why = " ".join(reason.split())
    if not why:
        raise OutboxActionError("reason = '': a cancellation needs a reason")
    with sessions() as session, session.begin():
        rows = _locked(session, ids)
        for row in rows:
            if row.state not in (OutboxState.PENDING, OutboxState.DEAD):
                raise OutboxActionError(
                    f"outbox row {row.id} is {row.state.value}; only pending or dead rows can be cancelled"
                )
        for row in rows:
            row.state = check_transition(row.state, OutboxState.CANCELLED)
            row.last_error = f"cancelled by {by}: {why}"
            _audit(session, row, "outbox_cancelled", by, why)
        return [row.id for row in rows]
