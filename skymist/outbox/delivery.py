"""Where each product of an alert stands: sent, pending (for how long), held, dead, cancelled.

An undelivered product is *late* once it waited ``check_outbox_age_warning_s`` (the threshold of
``skymist check``'s outbox check; ``critical`` from ``check_outbox_age_critical_s``); a dead one is
always late. A held product (a refined notice waiting for the Circular's approval) waits on purpose
and is never late. The console's alert list and the Circular's approval read this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.config import Settings
from skymist.outbox.queue import HELD_UNTIL
from skymist.states import OutboxState
from skymist.store.models import OutboxRow

#: the product of a revision that GCN subscribers read first (the one a Circular cites)
NOTICE_PRODUCT = "notice_json"


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class ProductState:
    id: int
    revision: int | None
    product: str
    state: str  # sent, pending, held, dead, cancelled
    queued_at: dt.datetime
    waited_s: float | None  # undelivered (pending or dead): since it was queued
    late: bool
    critical: bool

    @property
    def undelivered(self) -> bool:
        return self.state in ("pending", "dead")

    def describe(self) -> str:
        """``sent``, ``pending for 12 min``, ``dead after 3 min``, ``held``, ``cancelled``."""
        if self.state == "pending" and self.waited_s is not None:
            return f"pending for {minutes(self.waited_s)}"
        if self.state == "dead" and self.waited_s is not None:
            return f"dead (queued {minutes(self.waited_s)} ago)"
        return self.state


def minutes(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    return f"{seconds // 3600:.0f} h {(seconds % 3600) // 60:02.0f} min"


@dataclass(frozen=True)
class Delivery:
    """The products of one alert, oldest first."""

    alert_id: int
    products: tuple[ProductState, ...]

    @property
    def undelivered(self) -> list[ProductState]:
        return [p for p in self.products if p.undelivered]

    @property
    def oldest_undelivered_s(self) -> float | None:
        waits = [p.waited_s for p in self.undelivered if p.waited_s is not None]
        return max(waits) if waits else None

    @property
    def late(self) -> bool:
        return any(p.late for p in self.products)

    @property
    def critical(self) -> bool:
        return any(p.critical for p in self.products)

    @property
    def dead(self) -> int:
        return sum(p.state == "dead" for p in self.products)

    def revisions(self) -> list[tuple[str, list[ProductState]]]:
        """(``Rev 0``/``Rev 1``/``other``, its products) in revision order."""
        groups: dict[int | None, list[ProductState]] = {}
        for p in self.products:
            groups.setdefault(p.revision, []).append(p)
        order = sorted(r for r in groups if r is not None) + ([None] if None in groups else [])
        return [(f"Rev {r}" if r is not None else "other", groups[r]) for r in order]


def _state(row_state: OutboxState, next_attempt_at: dt.datetime) -> str:
    if row_state in (OutboxState.PENDING, OutboxState.SENDING):
        return "held" if _aware(next_attempt_at) >= HELD_UNTIL else "pending"
    return row_state.value


def delivery_of(
    session: Session, settings: Settings, alert_ids: Iterable[int], now: dt.datetime
) -> dict[int, Delivery]:
    """The delivery state of each alert in ``alert_ids`` (an alert without products: none listed)."""
    ids = list(alert_ids)
    rows = session.execute(
        select(
            OutboxRow.id,
            OutboxRow.alert_id,
            OutboxRow.revision,
            OutboxRow.product,
            OutboxRow.state,
            OutboxRow.next_attempt_at,
            OutboxRow.created_at,
        )
        .where(OutboxRow.alert_id.in_(ids))
        .order_by(OutboxRow.id)
    ).all()
    found: dict[int, list[ProductState]] = {alert_id: [] for alert_id in ids}
    for r in rows:
        if r.alert_id is None:  # not asked for (the query names alerts): for the type checker
            continue
        state = _state(r.state, r.next_attempt_at)
        waited = (now - _aware(r.created_at)).total_seconds() if state in ("pending", "dead") else None
        late = state == "dead" or (waited is not None and waited >= settings.check_outbox_age_warning_s)
        critical = state == "dead" or (waited is not None and waited >= settings.check_outbox_age_critical_s)
        found[r.alert_id].append(
            ProductState(r.id, r.revision, r.product, state, _aware(r.created_at), waited, late, critical)
        )
    return {alert_id: Delivery(alert_id, tuple(products)) for alert_id, products in found.items()}


def undelivered_before(
    session: Session, settings: Settings, alert_id: int, revision: int | None, now: dt.datetime
) -> list[ProductState]:
    """The alert's products of revisions before ``revision`` (all revisions when None) not delivered."""
    delivery = delivery_of(session, settings, [alert_id], now)[alert_id]
    return [
        p
        for p in delivery.undelivered
        if p.revision is not None and (revision is None or p.revision < revision)
    ]


def cited_notice_unsent(session: Session, alert_id: int) -> OutboxRow | None:
    """The alert's Rev 0 GCN notice when it was queued and never sent (None: sent, or none of ours)."""
    row = session.execute(
        select(OutboxRow)
        .where(OutboxRow.alert_id == alert_id, OutboxRow.revision == 0, OutboxRow.product == NOTICE_PRODUCT)
        .order_by(OutboxRow.id)
        .limit(1)
    ).scalar_one_or_none()
    return row if row is not None and row.state != OutboxState.SENT else None
