"""The input's identity, not only its position: a new cluster (or a re-created topic) that starts
again at offset 0 loses nothing, and messages the broker dropped (retention) are told, not silent.
Real Kafka protocol (librdkafka's mock cluster; it cannot delete topics, so a fresh cluster stands
in for a re-created topic: both start again at offset 0), real PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from sqlalchemy import func, select

from skymist import kafka_clients
from skymist.ingest.consumer import StreamConsumer
from skymist.ingest.inbox import Ingestor
from skymist.store.models import Alert, InboxMessage, OutboxRow
from tests.conftest import MockKafka
from tests.helpers import envelope, real_event, with_ids
from tests.support.failover_broker import FailoverBroker
from tests.waiting import wait_for


def consume(app: Any, settings_bootstrap: str, topic: str, until: Any, timeout_s: float = 40.0) -> None:
    settings = app.settings.model_copy(update={"kafka_bootstrap_servers": settings_bootstrap})
    stream = StreamConsumer(kafka_clients.make_consumer(settings), Ingestor(app), [topic], 50)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not until():
            stream.poll_once(0.2)
        assert until(), "timed out consuming"
    finally:
        stream.close()


def count(app: Any, model: Any) -> int:
    with app.sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def told(app: Any) -> list[str]:
    with app.sessions() as session:
        rows = session.execute(select(OutboxRow.payload).where(OutboxRow.product == "slack_input_stream"))
        return [json.loads(payload)["text"] for payload in rows.scalars()]


def produce(kafka: MockKafka, topic: str, values: list[bytes]) -> None:
    producer = kafka.producer(**{"message.max.bytes": 20_000_000})
    for value in values:
        producer.produce(topic, value, partition=0)
    producer.flush(30)


def alerts(shared_dir: Path, run_id: int, n: int) -> list[bytes]:
    event = real_event(shared_dir)
    return [json.dumps(envelope(with_ids(event, run_id, i))).encode() for i in range(n)]


@pytest.mark.slow
def test_a_new_cluster_starting_at_offset_0_loses_no_alert(
    app_factory: Any, kafka: MockKafka, topic: str, shared_dir: Path
) -> None:
    app = app_factory(slack_mode="console")
    produce(kafka, topic, alerts(shared_dir, 141001, 3))
    consume(app, kafka.bootstrap, topic, lambda: count(app, Alert) == 3)
    fresh = MockKafka()  # a failed-over cluster: same topic name, offsets from 0 again
    produce(fresh, topic, alerts(shared_dir, 141002, 3))
    consume(app, fresh.bootstrap, topic, lambda: count(app, Alert) == 6)
    assert count(app, InboxMessage) == 6
    assert app.metrics.snapshot()["input_offset_reused"] == 3
    assert any("offsets reused" in text and f"{topic}/0" in text for text in told(app))


@pytest.mark.slow
def test_messages_the_broker_dropped_are_told(
    app_factory: Any, kafka: MockKafka, topic: str, shared_dir: Path
) -> None:
    """The mock broker keeps a few MB per partition: a 10 MB message evicts itself and what came
    before it (this is where the issue's 10 MB message went). The consumer sees the gap.

    The second consumer joins the group the first one left: the mock broker waits a session
    timeout (less 1 s) for the members of a group it is rebalancing, so the session timeout is
    short (30 s by default)."""
    app = app_factory(slack_mode="console", kafka_session_timeout_ms=3000)
    produce(kafka, topic, alerts(shared_dir, 141003, 2))
    consume(app, kafka.bootstrap, topic, lambda: count(app, Alert) == 2)
    later = alerts(shared_dir, 141004, 3)
    produce(kafka, topic, [b"x" * 10_000_000])
    for value in later:  # one at a time: the broker may evict some of these too
        produce(kafka, topic, [value])

    def accounted() -> bool:
        skipped = int(app.metrics.snapshot().get("input_offsets_skipped", 0))
        return count(app, Alert) - 2 + skipped == 1 + len(later)

    consume(app, kafka.bootstrap, topic, accounted)
    assert count(app, Alert) >= 3  # what the broker still had is recorded
    assert app.metrics.snapshot()["input_offsets_skipped"] >= 1  # the 10 MB message at least
    assert any("skipped by the broker" in text for text in told(app))


@pytest.mark.slow
def test_a_new_cluster_at_the_same_address_while_consuming_loses_no_alert(
    app_factory: Any, shared_dir: Path
) -> None:
    """The same consumer, never restarted, at the same bootstrap address: the cluster is replaced
    by an empty one (new cluster id, offsets from 0) which then holds MORE messages than the old
    position, so a consumer keeping its position would skip the first new ones. All are recorded,
    and the cluster change is logged, counted and told."""
    topic = f"realtime-{uuid.uuid4().hex[:8]}"
    app = app_factory(slack_mode="console", kafka_session_timeout_ms=6000)
    with FailoverBroker([topic], partitions=1) as broker:
        settings = app.settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
        stream = StreamConsumer(kafka_clients.make_consumer(settings), Ingestor(app), [topic], 50)
        stop = threading.Event()
        thread = threading.Thread(target=stream.run, args=(stop,), daemon=True)
        thread.start()

        def wait(condition: Any, what: str, timeout_s: float = 60.0) -> None:
            wait_for(
                condition, timeout_s, what, 0.2, describe=lambda: f"{count(app, Alert)} alerts, {told(app)}"
            )

        def produce_here(values: list[bytes]) -> None:
            producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 1})
            for value in values:
                producer.produce(topic, value, partition=0)
            assert producer.flush(30) == 0

        try:
            produce_here(alerts(shared_dir, 141005, 3))
            wait(lambda: count(app, Alert) == 3, "the first cluster's alerts")
            first_cluster = stream.cluster_id
            broker.kill9()
            broker.replace()
            # offsets 0..4 on the new cluster: 0..2 reused, 3..4 past the old position
            produce_here(alerts(shared_dir, 141006, 5))
            # the alerts may all be read (the group joined again on the new cluster) before the
            # consumer's next look at the cluster's id: the change is waited for, not assumed
            wait(
                lambda: (
                    count(app, Alert) == 8 and app.metrics.snapshot().get("input_cluster_changed", 0) >= 1
                ),
                "the new cluster's alerts and the cluster change seen",
            )
        finally:
            stop.set()
            thread.join(timeout=30)
            stream.close()
    assert stream.cluster_id is not None and stream.cluster_id != first_cluster
    assert count(app, InboxMessage) == 8
    metrics = app.metrics.snapshot()
    assert metrics["input_cluster_changed"] == 1
    assert metrics["input_offset_reused"] == 3
    texts = told(app)
    assert any("new input cluster" in text and topic in text for text in texts), texts
