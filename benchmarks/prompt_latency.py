"""Alert produced -> prompt notice on the broker: latency (p50/p99), sustained throughput with 1, 2 and 4
daemons, and the per-alert cost of each stage.

Runs the real daemon (`skymist run --jobs ingest,dispatch`, N subprocesses in one consumer group on one
store) against a fresh PostgreSQL database per daemon count and a Kafka-protocol broker (librdkafka's
mock cluster, in this process). Messages are real-size (--size bytes, default 250 kB) alert envelopes.
Latency is measured from just before the alert is produced to the moment its notice is read back from
the broker by this process, so it includes the delivery acknowledgement the daemon waits for.

The mock broker keeps only ~5 MB per partition (20 messages of 250 kB) and silently drops older ones,
so the load is sized and paced to never lose input: the input topic has --partitions partitions, and
the producer offers --rate alerts/s but never has more than --window alerts in flight (produced, notice
not yet seen). At the end every produced alert must have come out as a notice: otherwise the benchmark
fails (exit 1).

Phase 1 (latency): --latency-alerts alerts, one at a time every 50 ms.
Phase 2 (load): for --seconds as described above; sustained rate = notices out / time to the last one.
Stage costs (in this process, same store and broker): parse, inbox insert, handler (alert and revision
rows, name), render (notice, VOEvent, Slack), outbox insert, produce (3 rows, acknowledged).

Prints one JSON line. Needs PostgreSQL at $SKYMIST_BENCH_PG (default 127.0.0.1:5432, trust auth).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.support import (  # noqa: E402
    NoticeWatcher,
    bench_settings,
    fresh_database,
    make_topics,
    mock_broker,
    percentile,
)
from skymist.runtime.simulate import alert_batch  # noqa: E402
from tests.support.daemon import DaemonProcess  # noqa: E402


def run_daemons(args: argparse.Namespace, bootstrap: str, n_daemons: int, batch: list[Any]) -> dict[str, Any]:
    ids = [f"{a.run_id}_{a.event_id}" for a, _ in batch]
    with fresh_database() as url:
        topics = make_topics(args.partitions)
        settings = bench_settings(url, bootstrap, topics)
        watcher = NoticeWatcher(bootstrap, settings.notice_topic)
        watcher.thread.start()
        daemons = [
            DaemonProcess(settings, Path(f"{args.log}.{n_daemons}.{k}"), "--jobs", "ingest,dispatch")
            for k in range(n_daemons)
        ]
        producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 2, "message.max.bytes": 2_000_000}
        )
        produced: dict[str, float] = {}

        def send(index: int) -> None:
            produced[ids[index]] = time.perf_counter()
            producer.produce(topics[index % len(topics)], batch[index][1], key=ids[index].encode())
            producer.poll(0)

        def wait_all(wanted: list[str], timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not all(i in watcher.arrived for i in wanted):
                time.sleep(0.02)

        warm, n_latency = 8, args.latency_alerts
        try:
            for daemon in daemons:
                daemon.start()
            for i in range(warm):  # the daemons join the group; the notice topic is created
                send(i)
            producer.flush(30)
            wait_all(ids[:warm], 90)
            time.sleep(2.0)  # let the group settle (cooperative rebalances)
            for i in range(warm, warm + n_latency):
                send(i)
                producer.flush(10)
                time.sleep(0.05)
            wait_all(ids[warm : warm + n_latency], 60)
            latency_ms = [
                (watcher.arrived[i] - produced[i]) * 1000
                for i in ids[warm : warm + n_latency]
                if i in watcher.arrived
            ]
            # load: offered at --rate, never more than --window in flight
            start = time.perf_counter()
            interval = 1.0 / args.rate
            next_index = warm + n_latency
            load_ids: list[str] = []
            pending: set[str] = set()
            while time.perf_counter() - start < args.seconds and next_index < len(batch):
                pending = {i for i in pending if i not in watcher.arrived}
                due = start + len(load_ids) * interval
                if len(pending) >= args.window or time.perf_counter() < due:
                    time.sleep(0.002)
                    continue
                send(next_index)
                load_ids.append(ids[next_index])
                pending.add(ids[next_index])
                next_index += 1
            producer.flush(30)
            offered_s = time.perf_counter() - start
            wait_all(load_ids, 120)
            arrivals = sorted(watcher.arrived[i] for i in load_ids if i in watcher.arrived)
            load_latency = [
                (watcher.arrived[i] - produced[i]) * 1000 for i in load_ids if i in watcher.arrived
            ]
            elapsed = (arrivals[-1] - start) if arrivals else float("nan")
            missing = [i for i in ids[: warm + n_latency] + load_ids if i not in watcher.arrived]
        finally:
            for daemon in daemons:
                if daemon.alive():
                    daemon.terminate()
                daemon.close()
            watcher.stop.set()
            watcher.thread.join(5)
    return {
        "daemons": n_daemons,
        "latency_alerts": len(latency_ms),
        "p50_ms": round(statistics.median(latency_ms), 1),
        "p99_ms": round(percentile(latency_ms, 99), 1),
        "load_alerts_produced": len(load_ids),
        "load_offered_per_s": round(len(load_ids) / offered_s, 1),
        "sustained_alerts_per_s": round(len(arrivals) / elapsed, 1),
        "under_load_p50_ms": round(statistics.median(load_latency), 1) if load_latency else None,
        "under_load_p99_ms": round(percentile(load_latency, 99), 1) if load_latency else None,
        "produced": len(produced),
        "notices_out": len(produced) - len(missing),
        "missing": len(missing),
    }


def stage_costs(args: argparse.Namespace, bootstrap: str, batch: list[Any]) -> dict[str, float]:
    """Per-alert milliseconds of each stage of the prompt path, in this process."""
    from skymist.alerts.products import SLACK_ALERT_TEMPLATE, revision_specs
    from skymist.ingest.inbox import Ingestor, RawMessage
    from skymist.ingest.parse import parse_message
    from skymist.outbox.queue import enqueue_many
    from skymist.outbox.sinks.base import OutboxItem
    from skymist.outbox.sinks.kafka import KafkaSink
    from skymist.runtime.assembly import build_app
    from tests.helpers import product_context

    n = min(args.stage_alerts, len(batch))
    sample = batch[:n]
    out: dict[str, float] = {}

    def timed(name: str, work: Callable[[], object], per: int) -> None:
        began = time.perf_counter()
        work()
        out[name] = round((time.perf_counter() - began) * 1000 / per, 3)

    with fresh_database() as url:
        topics = make_topics(4)
        topic = topics[0]
        app = build_app(bench_settings(url, bootstrap, topics).model_copy(update={"slack_mode": "console"}))
        settings = app.settings
        versions = settings.supported_event_versions
        timed(
            "parse",
            lambda: [parse_message(v, supported_versions=versions, max_bytes=10**7) for _, v in sample],
            n,
        )
        raws = [RawMessage(topic, 0, k, value) for k, (_, value) in enumerate(sample)]
        ingestor = Ingestor(app)

        def inbox_insert() -> None:
            for start in range(0, n, 100):
                with app.sessions() as session, session.begin():
                    ingestor._record(session, raws[start : start + 100])

        timed("inbox_insert", inbox_insert, n)
        contexts = [
            product_context(run_id=a.run_id + 1, event_id=a.event_id, name=f"IceCube-261120{k:04d}")
            for k, (a, _) in enumerate(sample)
        ]
        specs: list[Any] = []

        def render() -> None:
            for ctx in contexts:
                slack = ("slack_alert", SLACK_ALERT_TEMPLATE, ctx.as_template_vars())
                specs.extend(revision_specs(settings, app.renderer, 0, ctx, slack=slack))

        timed("render", render, n)
        specs = [dataclasses.replace(s, alert_id=None) for s in specs]

        def outbox() -> None:
            for start in range(0, len(specs), 300):
                with app.sessions() as session, session.begin():
                    enqueue_many(session, specs[start : start + 300])

        timed("outbox_insert", outbox, n)
        fresh = [RawMessage(f"{topic}-h", 0, k, value) for k, (_, value) in enumerate(sample)]

        def whole_ingest() -> None:
            for start in range(0, n, 100):
                Ingestor(app).ingest_batch(fresh[start : start + 100])

        timed("ingest_total", whole_ingest, n)  # inbox + parse + handler + render + outbox + commit
        out["handler_rows"] = round(
            out["ingest_total"] - out["parse"] - out["inbox_insert"] - out["render"] - out["outbox_insert"], 3
        )
        sink = KafkaSink(
            Producer(
                {
                    "bootstrap.servers": bootstrap,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 2,
                    "log_level": 2,
                }
            ),
            {"bootstrap.servers": bootstrap},
            10.0,
        )
        items = [
            OutboxItem(
                k,
                s.sink,
                s.destination,
                s.product,
                s.idempotency_key,
                s.payload,
                s.content_type,
                s.message_key,
                None,
                False,
            )
            for k, s in enumerate(specs)
            if s.sink == "kafka"
        ]
        sink.send(items[:2])  # connect and learn the topics first
        rest = items[2:]
        timed("produce", lambda: [sink.send(rest[i : i + 200]) for i in range(0, len(rest), 200)], n)
        app.close()
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    _broker, bootstrap = mock_broker()
    per_run = 8 + args.latency_alerts + int(args.rate * args.seconds) + 5
    # event times end before now (an event from the future is refused at the boundary)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=7 * per_run + 60)
    load_before = os.getloadavg()
    runs = []
    for n_daemons in args.daemons:
        batch = alert_batch(
            per_run, seed=5 + n_daemons, size_bytes=args.size, start=start, run_id=150000 + n_daemons
        )
        runs.append(run_daemons(args, bootstrap, n_daemons, batch))
    stages = stage_costs(
        args,
        bootstrap,
        alert_batch(args.stage_alerts, seed=3, size_bytes=args.size, start=start, run_id=159000),
    )
    return {
        "benchmark": "prompt_latency",
        "message_bytes": args.size,
        "partitions": args.partitions,
        "window": args.window,
        "rate_offered_target_per_s": args.rate,
        "runs": runs,
        "stage_ms_per_alert": stages,
        "every_input_accounted_for": all(r["missing"] == 0 for r in runs),
        "targets": {"p99_quiet_ms": 20, "p99_under_load_ms": 1000, "alerts_per_s": 200},
        "cpu_cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line (the default output)")
    parser.add_argument("--size", type=int, default=250_000, help="message size in bytes (default 250000)")
    parser.add_argument("--latency-alerts", type=int, default=100, help="alerts for the latency phase")
    parser.add_argument("--rate", type=float, default=250.0, help="offered alerts/s in the load phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the load phase")
    parser.add_argument(
        "--partitions", type=int, default=32, help="partitions of the input topic (default 32)"
    )
    parser.add_argument(
        "--window",
        type=int,
        default=160,
        help="most alerts in flight (the mock broker keeps ~20 of 250 kB per partition)",
    )
    parser.add_argument(
        "--daemons",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[1, 2, 4],
        help="daemon counts to run, e.g. 1,2,4 (default)",
    )
    parser.add_argument("--stage-alerts", type=int, default=200, help="alerts for the per-stage costs")
    parser.add_argument("--log", default="/tmp/skymist-bench-daemon.log", help="daemon log files (prefix)")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result))
    if not result["every_input_accounted_for"]:
        print("FAILED: some produced alerts did not come out as notices (see missing)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
