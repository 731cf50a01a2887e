"""What the alert lifecycle asks the outbox to tell it (registered into :class:`OutboxHooks`).

* before a send: the products of an alert retracted meanwhile are vetoed (the retraction's own
  products still go out);
* after a send: an alert whose prompt products are all delivered moves ``prompt_queued ->
  prompt_sent`` (a sent Circular becomes ``submitted``: the Circulars' own hook,
  :func:`skymist.circulars.submission.circulars_submitted`; both registered by
  :mod:`skymist.runtime.lifecycle`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from skymist.alerts.retraction import RETRACTION_PRODUCTS
from skymist.outbox.hooks import OutboxHooks
from skymist.states import AlertState, OutboxState, check_transition
from skymist.store.models import Alert, OutboxRow
from skymist.store.types import utcnow


def veto_retracted(session: Session, rows: Sequence[OutboxRow]) -> dict[int, str]:
    """Rows of retracted alerts, except the retraction's own products."""
    alert_ids = {row.alert_id for row in rows if row.alert_id is not None}
    if not alert_ids:
        return {}
    retracted = set(
        session.execute(
            select(Alert.id).where(Alert.id.in_(alert_ids), Alert.state == AlertState.RETRACTED)
        ).scalars()
    )
    return {
        row.id: "the alert was retracted before this was sent"
        for row in rows
        if row.alert_id in retracted and row.product not in RETRACTION_PRODUCTS
    }


def advance_prompt_sent(session: Session, rows: Sequence[OutboxRow], _now: dt.datetime) -> None:
    """prompt_queued -> prompt_sent for the alerts whose products are all delivered (one statement)."""
    alert_ids = {row.alert_id for row in rows if row.alert_id is not None}
    if not alert_ids:
        return
    new_state = check_transition(AlertState.PROMPT_QUEUED, AlertState.PROMPT_SENT)
    unsent = (
        select(OutboxRow.id)
        .where(
            OutboxRow.alert_id == Alert.id,
            OutboxRow.state.in_([OutboxState.PENDING, OutboxState.SENDING, OutboxState.DEAD]),
        )
        .exists()
    )
    session.execute(
        update(Alert)
        .where(Alert.id.in_(alert_ids), Alert.state == AlertState.PROMPT_QUEUED, ~unsent)
        .values(state=new_state, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def register(hooks: OutboxHooks) -> None:
    """Add the alert lifecycle's hooks."""
    hooks.before_send.append(veto_retracted)
    hooks.after_sent.append(advance_prompt_sent)
