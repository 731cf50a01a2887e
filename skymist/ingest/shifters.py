"""What the ingest path tells the shifters: dead letters, and an input stream whose positions do not
add up (offsets reused with other bytes, offsets reset or skipped, messages the broker withheld).

Each is one Slack outbox row with its exact bytes, written in the caller's transaction, and a JSON
log line and a counter; nothing is queued when Slack is off. These are operational messages: the
Slack dispatcher tells the first of a quiet window at once and folds a flood into one digest per
window (``slack_digest_window_s``) and kind, after every alert message
(:mod:`skymist.outbox.slack_digest`).
"""

from __future__ import annotations

import enum
import logging

from sqlalchemy.orm import Session

from skymist.app import App
from skymist.outbox import keys
from skymist.outbox.queue import enqueue_many, slack_spec

log = logging.getLogger(__name__)


class StreamEvent(enum.StrEnum):
    """Kinds of input-stream trouble (also the metric names, ``input_<kind>``)."""

    OFFSET_REUSED = "offset-reused"
    OFFSET_RESET = "offset-reset"
    OFFSETS_SKIPPED = "offsets-skipped"
    UNDELIVERABLE = "undeliverable"
    CLUSTER_CHANGED = "cluster-changed"


HEADLINES: dict[StreamEvent, str] = {
    StreamEvent.OFFSET_REUSED: "offsets reused by new messages (recorded as new)",
    StreamEvent.OFFSET_RESET: "consumer offset reset",
    StreamEvent.OFFSETS_SKIPPED: "messages skipped by the broker",
    StreamEvent.UNDELIVERABLE: "a message the broker would not deliver",
    StreamEvent.CLUSTER_CHANGED: "a new input cluster (its id changed); partitions read again",
}


def tell_dead_letter(
    session: Session, app: App, *, letter_id: int, attempts: int, source: str, reason: str, field: str | None
) -> None:
    if app.settings.slack_mode == "off":
        return
    spec = slack_spec(
        app.settings,
        app.renderer,
        product="slack_dead_letter",
        idempotency_key=keys.dead_letter(letter_id, attempts),
        template="slack/dead_letter.json.j2",
        variables={"source": source, "reason": reason, "field": field, "letter_id": letter_id},
    )
    enqueue_many(session, [spec])


def tell_stream_event(
    session: Session,
    app: App,
    kind: StreamEvent,
    *,
    topic: str,
    partition: int,
    offset: int,
    count: int,
    detail: str,
    key_detail: str = "",
) -> None:
    """Log, count and queue the shifters' message about ``count`` messages at ``topic/partition``
    (``partition`` -1: the whole cluster of ``topic``, a comma-separated list of topics)."""
    metric = "input_" + kind.value.replace("-", "_")
    app.metrics.inc(metric, count)
    log.warning(
        HEADLINES[kind],
        extra={
            "event": kind.value,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "count": count,
            "detail": detail,
        },
    )
    if app.settings.slack_mode == "off":
        return
    spec = slack_spec(
        app.settings,
        app.renderer,
        product="slack_input_stream",
        idempotency_key=keys.input_stream_event(kind.value, topic, partition, offset, key_detail),
        template="slack/input_stream.json.j2",
        variables={
            "headline": HEADLINES[kind],
            "where": f"{topic}/{partition}" if partition >= 0 else topic,
            "detail": detail,
        },
    )
    enqueue_many(session, [spec])
