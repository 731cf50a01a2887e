"""A database restart while the consumer is idle costs nothing: the pooled connection PostgreSQL
ended is found at checkout (pre-ping) and replaced, so the next batch is recorded at its first try,
not after a failed try and a backoff. Real PostgreSQL (its sessions ended with
``pg_terminate_backend``), real Kafka protocol (librdkafka's mock cluster)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from skymist import kafka_clients
from skymist.ingest.consumer import StreamConsumer
from skymist.ingest.inbox import Ingestor
from tests.conftest import MockKafka, _admin_dsn, libpq_url
from tests.helpers import envelope, real_event, with_ids
from tests.support.store_gate import StoreGate


def alerts_in_store(database_url: str) -> int:
    """Alerts in the store, on a connection of the test's own (not the pool under test)."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM alerts").fetchone()
    return int(row[0]) if row else 0


def poll_until(stream: StreamConsumer, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        stream.poll_once(0.2)


def test_a_database_restart_costs_the_consumer_no_failed_batch(
    app_factory: Any, database_url: str, kafka: MockKafka, topic: str, shared_dir: Path
) -> None:
    app = app_factory()
    gate = StoreGate(_admin_dsn(), database_url.rsplit("/", 1)[1])
    event = real_event(shared_dir)
    producer = kafka.producer()
    stream = StreamConsumer(kafka_clients.make_consumer(app.settings), Ingestor(app), [topic], 50)
    try:
        producer.produce(topic, json.dumps(envelope(with_ids(event, 150001, 1))).encode())
        producer.flush(30)
        poll_until(stream, lambda: alerts_in_store(database_url) == 1, 60, "the first alert")
        assert gate.end_sessions() >= 1  # the consumer's pooled connection, at least

        producer.produce(topic, json.dumps(envelope(with_ids(event, 150001, 2))).encode())
        producer.flush(30)
        poll_until(stream, lambda: alerts_in_store(database_url) == 2, 60, "the alert after the restart")
    finally:
        stream.close()
    # recorded at the first try: the ended connection never reached the batch
    assert app.metrics.snapshot().get("ingest_store_unavailable", 0) == 0
