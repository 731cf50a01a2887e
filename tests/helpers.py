"""Small helpers shared by tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from skymist.ingest.inbox import RawMessage

_offsets: dict[str, int] = {}

#: the VOEvent ``<What>`` Params DESIGN.md requires
VOEVENT_PARAMS = frozenset(
    {
        "Packet_Type",
        "run_id",
        "event_id",
        "Event_TJD",
        "Event_SOD",
        "Stream",
        "Rev",
        "signalness",
        "FAR",
        "energy",
        "src_error_90",
        "src_error_50",
    }
)


def raw(document: Any, topic: str = "test-topic", partition: int = 0) -> RawMessage:
    """A RawMessage at the next offset of ``topic``."""
    value = document if isinstance(document, bytes) else json.dumps(document).encode()
    offset = _offsets.get(topic, 0)
    _offsets[topic] = offset + 1
    return RawMessage(topic=topic, partition=partition, offset=offset, value=value)


def real_event(shared_dir: Path, name: str = "run00136662-evt000035405932-BRONZE.json") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((shared_dir / "data" / "real" / name).read_text())
    return document


def envelope(event: dict[str, Any], stream: str = "BRONZE", **alert: Any) -> dict[str, Any]:
    classification = {
        "stream": stream,
        "signalness": 0.3834,
        "far_per_year": 2.0054,
        "energy_tev": 114.92,
        **alert,
    }
    return {"alert": classification, "event": copy.deepcopy(event)}


def with_ids(
    event: dict[str, Any], run_id: int, event_id: int, eventtime: str | None = None
) -> dict[str, Any]:
    out = copy.deepcopy(event)
    out["value"]["data"]["run_id"] = run_id
    out["value"]["data"]["event_id"] = event_id
    if eventtime is not None:
        out["value"]["data"]["eventtime"] = eventtime
    return out


def read_topic(
    bootstrap: str, topic: str, *, timeout_s: float = 30.0, expect: int | None = None
) -> list[Any]:
    """Every message on ``topic``: read up to the end offsets the broker reports, again until at least
    ``expect`` messages came (or ``timeout_s`` passed). No quiet period is waited for: a test that
    checks nothing was sent twice reads after its sender has stopped."""
    import time
    import uuid

    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": "false",
            "enable.partition.eof": "true",  # the end of a partition is an event: a gap cannot stall the read
        }
    )
    found: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        next_offset: dict[int, int] = {}
        for partition in partitions:
            low, _ = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            next_offset[partition] = max(low, 0)
        consumer.assign([TopicPartition(topic, p, next_offset[p]) for p in partitions])
        while True:
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
                for p in partitions
            }
            while any(next_offset[p] < ends[p] for p in partitions) and time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is None:
                    continue
                partition, offset, error = message.partition(), message.offset(), message.error()
                if partition is None or offset is None:
                    continue
                if error is None:
                    found.append(message)
                    next_offset[partition] = offset + 1
                elif error.code() == KafkaError._PARTITION_EOF:
                    next_offset[partition] = max(next_offset[partition], offset)
            if (expect is None or len(found) >= expect) or time.monotonic() >= deadline:
                break
            time.sleep(0.1)  # more messages are expected: look at the end offsets again
    finally:
        consumer.close()
    return found


def header(message: Any, name: str) -> str | None:
    for key, value in message.headers() or []:
        if key == name:
            return bytes(value).decode()
    return None


def product_context(**overrides: Any) -> Any:
    """The product context of IceCube-220524A's Rev 0 as published (fields overridable)."""
    import dataclasses
    import datetime as dt

    from skymist.alerts.context import AlertIdentity, Publication, RevisionNumbers, build_context

    values: dict[str, Any] = dict(
        name="IceCube-220524A",
        run_id=136662,
        event_id=35405932,
        revision=0,
        stream="BRONZE",
        event_time=dt.datetime(2022, 5, 24, 7, 41, 32, 185352, tzinfo=dt.UTC),
        ra_deg=48.8497,
        dec_deg=-3.5219,
        err50_deg=0.2,
        err90_deg=0.5133,
        errors_derived=False,
        energy_tev=114.92,
        signalness=0.3834,
        far_per_year=2.0054,
        alert_type="initial",
        alert_tense="current",
        now=dt.datetime(2022, 5, 24, 7, 42, 30, tzinfo=dt.UTC),
    )
    values.update(overrides)
    parts = [
        {name: values.pop(name) for name in [f.name for f in dataclasses.fields(part)] if name in values}
        for part in (AlertIdentity, RevisionNumbers, Publication)
    ]
    assert not values, f"not a product context field: {sorted(values)}"
    return build_context(AlertIdentity(**parts[0]), RevisionNumbers(**parts[1]), Publication(**parts[2]))
