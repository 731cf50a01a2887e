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


def queue_revision_products(
    session: Session, settings: Settings, renderer: Renderer, alert_id: int, ctx: ProductContext
) -> int:
    """Queue the notice, the VOEvent and the Slack message of ``ctx``; returns the rows added."""
    variables = ctx.as_template_vars()
    tag = f"{ctx.run_id}_{ctx.event_id}:r{ctx.revision}:{ctx.alert_type}"
    key = f"{ctx.run_id}_{ctx.event_id}".encode()
    common = {"alert_id": alert_id, "revision": ctx.revision}
    rows: list[dict[str, object]] = [
        {
            "sink": SINK_KAFKA,
            "destination": settings.notice_topic,
            "product": "notice_json",
            "idempotency_key": f"{tag}:notice_json",
            "payload": renderer.render_json(NOTICE_TEMPLATE, variables),
            "content_type": "application/json",
            "message_key": key,
            **common,
        },
        {
            "sink": SINK_KAFKA,
            "destination": settings.voevent_topic,
            "product": "voevent",
            "idempotency_key": f"{tag}:voevent",
            "payload": render_voevent(renderer, ctx),
            "content_type": "application/xml",
            "message_key": key,
            **common,
        },
    ]
    if settings.slack_mode != "off":
        rows.append(
            {
                "sink": SINK_SLACK,
                "destination": settings.slack_channel or "shifters",
                "product": "slack_alert",
                "idempotency_key": f"{tag}:slack_alert",
                "payload": renderer.render_json(SLACK_ALERT_TEMPLATE, variables),
                "content_type": "application/json",
                **common,
            }
        )
    return enqueue_many(session, rows)
