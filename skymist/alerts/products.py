"""The one builder of an alert revision's outbox rows: GCN JSON notice, VOEvent, the shifters' Slack
message, for Rev 0, Rev 1 (held or not), a repeated scan and a retraction. Keys come from
:mod:`skymist.outbox.keys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from sqlalchemy.orm import Session

from skymist.alerts.context import ProductContext
from skymist.config import Settings
from skymist.outbox import keys
from skymist.outbox.queue import SINK_KAFKA, OutboxSpec, enqueue_many, slack_spec
from skymist.rendering import Renderer

NOTICE_TEMPLATE = "notices/single_neutrino_alert.json.j2"
VOEVENT_TEMPLATE = "notices/voevent.xml.j2"
SLACK_ALERT_TEMPLATE = "slack/alert.json.j2"


def render_voevent(renderer: Renderer, ctx: ProductContext) -> bytes:
    text = renderer.render(VOEVENT_TEMPLATE, ctx.as_template_vars())
    ElementTree.fromstring(text.encode())  # well-formed or raise
    return text.encode()


def revision_specs(
    settings: Settings,
    renderer: Renderer,
    alert_id: int,
    ctx: ProductContext,
    *,
    product_prefix: str = "",
    held_note: str | None = None,
    slack: tuple[str, str, Mapping[str, Any]] | None = None,
) -> list[OutboxSpec]:
    """The rows of one revision ``ctx``: its JSON notice and VOEvent (products ``notice_json`` and
    ``voevent``, prefixed e.g. ``retraction_``; held with ``held_note``), and, when ``slack`` gives
    ``(product, template, variables)`` and Slack is on, the shifters' message."""

    def key(product: str) -> str:
        return keys.revision_product(ctx.run_id, ctx.event_id, ctx.revision, ctx.alert_type, product)

    message_key = keys.event_ref(ctx.run_id, ctx.event_id).encode()
    notice, voevent = f"{product_prefix}notice_json", f"{product_prefix}voevent"
    specs = [
        OutboxSpec(
            sink=SINK_KAFKA,
            destination=settings.notice_topic,
            product=notice,
            idempotency_key=key(notice),
            payload=renderer.render_json(NOTICE_TEMPLATE, ctx.as_template_vars()),
            content_type="application/json",
            alert_id=alert_id,
            revision=ctx.revision,
            message_key=message_key,
            held_note=held_note,
        ),
        OutboxSpec(
            sink=SINK_KAFKA,
            destination=settings.voevent_topic,
            product=voevent,
            idempotency_key=key(voevent),
            payload=render_voevent(renderer, ctx),
            content_type="application/xml",
            alert_id=alert_id,
            revision=ctx.revision,
            message_key=message_key,
            held_note=held_note,
        ),
    ]
    if slack is not None and settings.slack_mode != "off":
        product, template, variables = slack
        specs.append(
            slack_spec(
                settings,
                renderer,
                product=product,
                idempotency_key=key(product),
                template=template,
                variables=variables,
                alert_id=alert_id,
                revision=ctx.revision,
            )
        )
    return specs


def queue_revision_products(
    session: Session, settings: Settings, renderer: Renderer, alert_id: int, ctx: ProductContext
) -> int:
    """Queue the prompt revision's notice, VOEvent and Slack message; returns the rows added."""
    slack = ("slack_alert", SLACK_ALERT_TEMPLATE, ctx.as_template_vars())
    return len(enqueue_many(session, revision_specs(settings, renderer, alert_id, ctx, slack=slack)))
