"""Writing outbox rows (inside the caller's transaction) and cancelling superseded ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.config import Settings
from skymist.rendering import Renderer
from skymist.states import OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow
from skymist.store.upsert import dialect_insert

SINK_KAFKA = "kafka"
SINK_SLACK = "slack"

#: ``next_attempt_at`` of a held row: no dispatcher claims it until it is released
HELD_UNTIL = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


@dataclass(frozen=True)
class OutboxSpec:
    """One side effect for one sink, as it is queued: the exact bytes and the idempotency key
    (:mod:`skymist.outbox.keys`). ``held_note`` makes the row held (not due until released)."""

    sink: str
    destination: str
    product: str
    idempotency_key: str
    payload: bytes
    content_type: str
    alert_id: int | None = None
    revision: int | None = None
    message_key: bytes | None = None
    held_note: str | None = None

    def values(self, now: dt.datetime) -> dict[str, object]:
        """The row's column values."""
        return {
            "sink": self.sink,
            "destination": self.destination,
            "product": self.product,
            "idempotency_key": self.idempotency_key,
            "payload": self.payload,
            "content_type": self.content_type,
            "alert_id": self.alert_id,
            "revision": self.revision,
            "message_key": self.message_key,
            "state": OutboxState.PENDING,
            "attempts": 0,
            "next_attempt_at": HELD_UNTIL if self.held_note else now,
            "last_error": self.held_note,
            "created_at": now,
        }


def console_url(base_url: str, alert_id: int) -> str:
    """The console page of an alert (``skymist console``: ``/alerts/<id>``)."""
    return f"{base_url.rstrip('/')}/alerts/{alert_id}"


def slack_spec(
    settings: Settings,
    renderer: Renderer,
    *,
    product: str,
    idempotency_key: str,
    template: str,
    variables: Mapping[str, Any],
    alert_id: int | None = None,
    revision: int | None = None,
) -> OutboxSpec:
    """A message to the shifters' Slack channel, rendered from a ``slack/*.json.j2`` template; a
    message about an alert links to the alert's console page when ``console_base_url`` is set."""
    if alert_id is not None and settings.console_base_url:
        variables = {**variables, "console_url": console_url(settings.console_base_url, alert_id)}
    return OutboxSpec(
        sink=SINK_SLACK,
        destination=settings.slack_channel or "shifters",
        product=product,
        idempotency_key=idempotency_key,
        payload=renderer.render_json(template, variables),
        content_type="application/json",
        alert_id=alert_id,
        revision=revision,
    )


def enqueue(session: Session, spec: OutboxSpec) -> OutboxRow:
    """Add one row for one sink. The idempotency key is unique: the same product is never queued twice."""
    existing = session.execute(
        select(OutboxRow).where(OutboxRow.idempotency_key == spec.idempotency_key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    row = OutboxRow(**spec.values(utcnow()))
    session.add(row)
    return row


def enqueue_many(session: Session, specs: Sequence[OutboxSpec]) -> list[str]:
    """Insert several rows in one statement; rows whose idempotency key exists are skipped.

    Returns the products of the rows that were new.
    """
    if not specs:
        return []
    now = utcnow()
    stmt = (
        dialect_insert(session, OutboxRow.__table__)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxRow.product)
    )
    return [str(product) for (product,) in session.execute(stmt, [spec.values(now) for spec in specs]).all()]


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
