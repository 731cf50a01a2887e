"""What the benchmarks share: a fresh PostgreSQL database, the mock Kafka broker, the notice watcher,
the daemon settings of a benchmark, percentiles."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from skymist.config import Settings
from skymist.store.db import make_engine, upgrade

PG = os.environ.get("SKYMIST_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
ADMIN = PG.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))]


class NoticeWatcher:
    """Reads the notice topic and records when each alert's notice arrived."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.arrived: dict[str, float] = {}
        self.stop = threading.Event()
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"watch-{uuid.uuid4().hex[:6]}",
                "fetch.wait.max.ms": 5,
                "log_level": 2,
            }
        )
        self.topic = topic
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        assigned = False
        while not self.stop.is_set():
            if not assigned:
                metadata = self.consumer.list_topics(self.topic, timeout=5).topics.get(self.topic)
                if metadata is None or metadata.error is not None or not metadata.partitions:
                    time.sleep(0.05)
                    continue
                self.consumer.assign([TopicPartition(self.topic, p, 0) for p in metadata.partitions])
                assigned = True
            message = self.consumer.poll(0.05)
            if message is None or message.error() is not None:
                error = message.error() if message is not None else None
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    print(error, file=sys.stderr)
                continue
            notice = json.loads(message.value() or b"{}")
            self.arrived.setdefault(notice["id"][0], time.perf_counter())
        self.consumer.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"skymist_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_topics(partitions: int) -> list[str]:
    """Input topics giving ``partitions`` partitions (the mock cluster makes 4 per topic and cannot be
    asked for more)."""
    tag = uuid.uuid4().hex[:6]
    return [f"bench-{tag}-{k}" for k in range(max(1, partitions // 4))]


def bench_settings(url: str, bootstrap: str, topics: list[str]) -> Settings:
    topic = topics[0]
    return Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        kafka_topics=topics,
        kafka_group_id=f"bench-{uuid.uuid4().hex[:6]}",
        kafka_session_timeout_ms=6000,
        notice_topic=f"notices-{topic}",
        voevent_topic=f"voevents-{topic}",
        slack_mode="off",
        scans_enabled=False,  # the prompt path only: alert in, notice out
        alert_tense="test",
        log_level="WARNING",
        kafka_config={"log_level": "2"},
    )


def mock_broker(log_level: int = 2) -> tuple[Producer, str]:
    """librdkafka's mock cluster (one broker on loopback, alive as long as the returned producer)
    and its bootstrap address."""
    broker = Producer({"test.mock.num.brokers": 1, "log_level": log_level})
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in broker.list_topics(timeout=10).brokers.values())
    return broker, bootstrap
