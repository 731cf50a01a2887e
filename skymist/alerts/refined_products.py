"""The refined revision's products: GCN JSON notice, VOEvent and the shifters' Slack message.

Notice and VOEvent use the same templates as the prompt revision (``alert_type`` update, citing the
revision they supersede); they are held when ``rev1_requires_approval`` is set. The Slack message
gives the numbers and shows the skymap picture from its public URL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from skymist.alerts.context import ProductContext
from skymist.alerts.products import revision_specs
from skymist.config import Settings
from skymist.outbox import keys
from skymist.outbox.held import HOLD_NOTE
from skymist.outbox.queue import OutboxSpec, slack_spec
from skymist.rendering import Renderer

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
    reco_algo: str = "unknown"
    reco_kind: str = "approximation"
    reco_warning: str | None = None  # set for an approximation: named in the message

    def as_template_vars(self) -> dict[str, Any]:
        return asdict(self)


def revision_rows(
    settings: Settings, renderer: Renderer, alert_id: int, ctx: ProductContext, *, held: bool
) -> list[OutboxSpec]:
    """Outbox rows of the refined notice and VOEvent of ``ctx`` (held: not due until approval)."""
    return revision_specs(settings, renderer, alert_id, ctx, held_note=HOLD_NOTE if held else None)


def slack_row(
    settings: Settings,
    renderer: Renderer,
    alert_id: int,
    localization_id: int,
    variables: RefinedSlackVars,
) -> OutboxSpec:
    return slack_spec(
        settings,
        renderer,
        product="slack_refined",
        idempotency_key=keys.localization_product(
            variables.run_id, variables.event_id, localization_id, "slack_refined"
        ),
        template=SLACK_REFINED_TEMPLATE,
        variables=variables.as_template_vars(),
        alert_id=alert_id,
        revision=variables.revision,
    )
