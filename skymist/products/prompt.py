"""The products of one alert revision (notice JSON, VOEvent, Slack), queued in the outbox."""

from __future__ import annotations

from sqlalchemy.orm import Session

from skymist.config import Settings
from skymist.outbox.queue import SINK_KAFKA, SINK_SLACK, enqueue_many
from skymist.products.context import ProductContext
from skymist.products.render import Renderer

NOTICE_TEMPLATE = "notices/single_neutrino_alert.json.j2"
VOEVENT_TEMPLATE = "notices/voevent.xml.j2"
SLACK_ALERT_TEMPLATE = "slack/alert.json.j2"


def render_voevent(renderer: Renderer, ctx: ProductContext) -> bytes:
    from xml.etree import ElementTree

    text = renderer.render(VOEVENT_TEMPLATE, ctx.as_template_vars())
    ElementTree.fromstring(text.encode())  # well-formed or raise
    return text.encode()


def notice_rows(
    settings: Settings,
    renderer: Renderer,
    alert_id: int,
    ctx: ProductContext,
    *,
    product_prefix: str = "",
    extra: dict[str, object] | None = None,
) -> list[dict[str, object]]:
    """The outbox rows of the JSON notice and the VOEvent of ``ctx`` (products ``notice_json`` and
    ``voevent``, prefixed e.g. ``retraction_``); ``extra`` adds columns (e.g. held until approval)."""
    tag = f"{ctx.run_id}_{ctx.event_id}:r{ctx.revision}:{ctx.alert_type}"
    common: dict[str, object] = {
        "alert_id": alert_id,
        "revision": ctx.revision,
        "message_key": f"{ctx.run_id}_{ctx.event_id}".encode(),
        **(extra or {}),
    }
    notice, voevent = f"{product_prefix}notice_json", f"{product_prefix}voevent"
    return [
        {
            "sink": SINK_KAFKA,
            "destination": settings.notice_topic,
            "product": notice,
            "idempotency_key": f"{tag}:{notice}",
            "payload": renderer.render_json(NOTICE_TEMPLATE, ctx.as_template_vars()),
            "content_type": "application/json",
            **common,
        },
        {
            "sink": SINK_KAFKA,
            "destination": settings.voevent_topic,
            "product": voevent,
            "idempotency_key": f"{tag}:{voevent}",
            "payload": render_voevent(renderer, ctx),
            "content_type": "application/xml",
            **common,
        },
    ]


def queue_revision_products(
    session: Session, settings: Settings, renderer: Renderer, alert_id: int, ctx: ProductContext
) -> int:
    """Queue the notice, the VOEvent and the Slack message of ``ctx``; returns the rows added."""
    rows = notice_rows(settings, renderer, alert_id, ctx)
    tag = f"{ctx.run_id}_{ctx.event_id}:r{ctx.revision}:{ctx.alert_type}"
    if settings.slack_mode != "off":
        rows.append(
            {
                "sink": SINK_SLACK,
                "destination": settings.slack_channel or "shifters",
                "product": "slack_alert",
                "idempotency_key": f"{tag}:slack_alert",
                "payload": renderer.render_json(SLACK_ALERT_TEMPLATE, ctx.as_template_vars()),
                "content_type": "application/json",
                "alert_id": alert_id,
                "revision": ctx.revision,
            }
        )
    return enqueue_many(session, rows)
