"""The refined revision's products: GCN JSON notice, VOEvent and the shifters' Slack message.

Notice and VOEvent use the same templates as the prompt revision (``alert_type`` update, citing the
revision they supersede); they are held when ``rev1_requires_approval`` is set. The Slack message
gives the numbers and shows the skymap picture from its public URL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.config import Settings
from skymist.outbox.queue import SINK_SLACK, enqueue_many
from skymist.products.context import ProductContext
from skymist.products.prompt import notice_rows
from skymist.products.render import Renderer
from skymist.refine.hold import held_columns
from skymist.store.models import OutboxRow

SLACK_REFINED_TEMPLATE = "slack/refined.json.j2"


@dataclass(frozen=True)
class RefinedSlackVars:
    """What the shifters are told about a new localization (angles J2000 degrees, areas deg^2)."""

    name: str
    run_id: int
    event_id: int
    stream_title: str
    public: bool  # False for unclassified events: nothing is published
    revision: int | None
    notices_held: bool
    circular_id: int | None
    thresholds: str
    ra_deg: float
    dec_deg: float
    ra_plus_90_deg: float
    ra_minus_90_deg: float
    dec_plus_90_deg: float
    dec_minus_90_deg: float
    err50_deg: float
    err90_deg: float
    area_50_deg2: float
    area_90_deg2: float
    shift_from_rev0_deg: float | None
    png_url: str
    healpix_url: str
    scan_ref: str

    def as_template_vars(self) -> dict[str, Any]:
        return asdict(self)


def revision_rows(
    settings: Settings, renderer: Renderer, alert_id: int, ctx: ProductContext, *, held: bool
) -> list[dict[str, object]]:
    """Outbox rows of the refined notice and VOEvent of ``ctx`` (held: not due until approval)."""
    return notice_rows(settings, renderer, alert_id, ctx, extra=held_columns() if held else None)


def slack_row(
    settings: Settings,
    renderer: Renderer,
    alert_id: int,
    localization_id: int,
    variables: RefinedSlackVars,
) -> dict[str, object]:
    return {
        "sink": SINK_SLACK,
        "destination": settings.slack_channel or "shifters",
        "product": "slack_refined",
        "idempotency_key": f"{variables.run_id}_{variables.event_id}:loc{localization_id}:slack_refined",
        "payload": renderer.render_json(SLACK_REFINED_TEMPLATE, variables.as_template_vars()),
        "content_type": "application/json",
        "alert_id": alert_id,
        "revision": variables.revision,
    }


def queue_rows(session: Session, rows: list[dict[str, object]]) -> list[str]:
    """Queue the ``rows`` not queued yet (by idempotency key); returns the products of those added."""
    keys = [str(row["idempotency_key"]) for row in rows]
    existing = set(
        session.execute(
            select(OutboxRow.idempotency_key).where(OutboxRow.idempotency_key.in_(keys))
        ).scalars()
    )
    new = [row for row in rows if row["idempotency_key"] not in existing]
    enqueue_many(session, new)
    return [str(row["product"]) for row in new]
