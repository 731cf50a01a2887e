"""Submitting an approved Circular: its outbox row, and marking it submitted once the row is sent.

:func:`mark_submitted` is the dispatcher's hook: called in the transaction that records sent outbox
rows, it moves the Circulars of those rows from ``approved`` to ``submitted``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist import audit
from skymist.outbox import keys
from skymist.outbox.queue import OutboxSpec, enqueue
from skymist.outbox.sinks.circulars import SINK_CIRCULARS
from skymist.states import CircularState, OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.product_models import Circular, CircularKind
from skymist.store.types import utcnow

#: outbox ``product`` of each kind of Circular
PRODUCT_OF_KIND: dict[CircularKind, str] = {
    CircularKind.TRACK: "circular",
    CircularKind.RETRACTION: "retraction_circular",
}


def file_stem(circular: Circular, alert_name: str) -> str:
    """``IceCube-220524A`` (track) or ``IceCube-220524A_retraction``: the ready-to-send file's name."""
    return alert_name if circular.kind == CircularKind.TRACK else f"{alert_name}_{circular.kind.value}"


def queue_submission(session: Session, circular: Circular, alert_name: str) -> OutboxRow:
    """The outbox row that submits ``circular`` (one per Circular: its idempotency key is its id)."""
    payload = json.dumps({"subject": circular.subject, "body": circular.body}, ensure_ascii=False).encode()
    spec = OutboxSpec(
        sink=SINK_CIRCULARS,
        destination=file_stem(circular, alert_name),
        product=PRODUCT_OF_KIND[circular.kind],
        idempotency_key=keys.circular_submission(circular.id),
        payload=payload,
        content_type="application/json",
        alert_id=circular.alert_id,
        revision=circular.revision,
    )
    row = enqueue(session, spec)
    session.flush()
    return row


def mark_submitted(session: Session, outbox_ids: Collection[int], now: dt.datetime | None = None) -> int:
    """Circulars whose outbox row (among ``outbox_ids``) is ``sent``: ``approved`` -> ``submitted``.

    Safe to call with any ids (rows of other products are ignored) and more than once.
    """
    if not outbox_ids:
        return 0
    when = now or utcnow()
    rows = session.execute(
        select(Circular, OutboxRow.delivery_ref)
        .join(OutboxRow, OutboxRow.id == Circular.outbox_id)
        .where(
            Circular.outbox_id.in_(list(outbox_ids)),
            Circular.state == CircularState.APPROVED,
            OutboxRow.state == OutboxState.SENT,
        )
        .with_for_update(of=Circular)
    ).all()
    for circular, delivery_ref in rows:
        circular.state = check_transition(circular.state, CircularState.SUBMITTED)
        circular.submitted_at = when
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="circular_submitted",
            subject_kind="circular",
            subject_id=circular.id,
            alert_id=circular.alert_id,
            details={"outbox_id": circular.outbox_id, "delivery_ref": delivery_ref},
        )
    return len(rows)


def circulars_submitted(session: Session, rows: Sequence[OutboxRow], now: dt.datetime) -> None:
    """The outbox's after-sent hook (registered by :mod:`skymist.runtime.lifecycle`):
    :func:`mark_submitted` for the rows just sent."""
    mark_submitted(session, [row.id for row in rows], now)
