"""Alert produced -> prompt notice on the broker: latency (p50/p99) and sustained throughput.

Runs the real daemon (`skymist run`, a subprocess) against a fresh PostgreSQL database and a
Kafka-protocol broker (librdkafka's mock cluster, in this process). Messages are real-size
(--size bytes, default 250 kB) alert envelopes. Latency is measured from just before the alert is
produced to the moment the notice is read back from the broker by this process, so it includes the
delivery acknowledgement the daemon waits for.

Phase 1 (latency): --latency-alerts alerts, one at a time every 50 ms.
Phase 2 (throughput): --rate alerts/s offered for --seconds; reports the rate at which notices
came out and the latency under that load.

Prints one JSON line. Needs PostgreSQL at $SKYMIST_BENCH_PG (default 127.0.0.1:5432, trust auth).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skymist.config import Settings  # noqa: E402
from skymist.simulate import alert_batch  # noqa: E402
from skymist.store.db import make_engine, upgrade  # noqa: E402
from tests.support.daemon import DaemonProcess  # noqa: E402

PG = os.environ.get("SKYMIST_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


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
                if message is not None and message.error().code() != KafkaError._PARTITION_EOF:
                    print(message.error(), file=sys.stderr)
                continue
            notice = json.loads(message.value() or b"{}")
            self.arrived[notice["id"][0]] = time.perf_counter()
        self.consumer.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    broker = Producer({"test.mock.num.brokers": 1, "log_level": 2})
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in broker.list_topics(timeout=10).brokers.values())
    name = f"skymist_bench_{uuid.uuid4().hex[:8]}"
    admin = PG.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    topic = f"bench-{uuid.uuid4().hex[:6]}"
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        kafka_topics=[topic],  # type: ignore[arg-type]
        kafka_group_id=f"bench-{uuid.uuid4().hex[:6]}",
        notice_topic=f"notices-{topic}",
        voevent_topic=f"voevents-{topic}",
        slack_mode="off",
        scans_enabled=False,  # the prompt path only: alert in, notice out
        alert_tense="test",
        log_level="WARNING",
        kafka_config={"log_level": "2"},
    )
    n_latency, n_rate = args.latency_alerts, int(args.rate * args.seconds)
    batch = alert_batch(n_latency + n_rate + 5, seed=5, size_bytes=args.size)
    ids = [f"{a.run_id}_{a.event_id}" for a, _ in batch]
    watcher = NoticeWatcher(bootstrap, settings.notice_topic)
    watcher.thread.start()
    log = Path(args.log)
    daemon = DaemonProcess(settings, log)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 2, "message.max.bytes": 2_000_000}
    )
    produced: dict[str, float] = {}

    def send(index: int) -> None:
        produced[ids[index]] = time.perf_counter()
        producer.produce(topic, batch[index][1], key=ids[index].encode())
        producer.poll(0)

    def wait_all(wanted: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(i in watcher.arrived for i in wanted):
            time.sleep(0.05)

    try:
        daemon.start()
        # warm-up: the daemon joins the group and creates the notice topic
        for i in range(5):
            send(i)
        producer.flush(30)
        wait_all(ids[:5], 60)
        # phase 1: latency, one alert at a time
        for i in range(5, 5 + n_latency):
            send(i)
            producer.flush(10)
            time.sleep(0.05)
        wait_all(ids[5 : 5 + n_latency], 60)
        latency_ms = [
            (watcher.arrived[i] - produced[i]) * 1000 for i in ids[5 : 5 + n_latency] if i in watcher.arrived
        ]
        # phase 2: sustained rate
        start = time.perf_counter()
        interval = 1.0 / args.rate
        for k, i in enumerate(range(5 + n_latency, len(batch))):
            target = start + k * interval
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            send(i)
        producer.flush(30)
        offered_s = time.perf_counter() - start
        wanted = ids[5 + n_latency :]
        wait_all(wanted, 120)
        arrivals = sorted(watcher.arrived[i] for i in wanted if i in watcher.arrived)
        load_latency = [(watcher.arrived[i] - produced[i]) * 1000 for i in wanted if i in watcher.arrived]
        elapsed = (arrivals[-1] - start) if arrivals else float("nan")
    finally:
        if daemon.alive():
            daemon.terminate()
        daemon.close()
        watcher.stop.set()
        watcher.thread.join(5)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "benchmark": "prompt_latency",
        "message_bytes": args.size,
        "latency_alerts": len(latency_ms),
        "p50_ms": round(statistics.median(latency_ms), 1),
        "p99_ms": round(percentile(latency_ms, 99), 1),
        "max_ms": round(max(latency_ms), 1),
        "throughput_offered_per_s": round(n_rate / offered_s, 1),
        "throughput_alerts": n_rate,
        "throughput_notices_out": len(arrivals),
        "sustained_alerts_per_s": round(len(arrivals) / elapsed, 1),
        "under_load_p50_ms": round(statistics.median(load_latency), 1) if load_latency else None,
        "under_load_p99_ms": round(percentile(load_latency, 99), 1) if load_latency else None,
        "targets": {"p99_ms": 500, "alerts_per_s": 200},
        "cpu_cores": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line (the default output)")
    parser.add_argument("--size", type=int, default=250_000, help="message size in bytes (default 250000)")
    parser.add_argument("--latency-alerts", type=int, default=200, help="alerts for the latency phase")
    parser.add_argument("--rate", type=float, default=250.0, help="offered alerts/s in the throughput phase")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the throughput phase")
    parser.add_argument("--log", default="/tmp/skymist-bench-daemon.log", help="daemon log file")
    args = parser.parse_args()
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
