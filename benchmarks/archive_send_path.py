"""Do archive record writes slow the send path? The same load (real-size alerts, one every
--interval-s) through one daemon (jobs ingest,dispatch) with the archive off, then on (records
written from the after-sent hook by the writer thread), in alternating rounds.

Prints one JSON line: produce -> notice on the topic p50/p99 per mode (over all rounds), the ratio of
the p99s, and for the archive-on rounds how many records were complete when the last notice arrived
and how long the writer took after that. Needs PostgreSQL like prompt_latency.py."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
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


def records_done(root: Path) -> int:
    return sum(1 for index in root.glob("*/data/record.json"))


def one_round(args: argparse.Namespace, bootstrap: str, archive: bool, seed: int) -> dict[str, Any]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    batch = alert_batch(args.alerts + 3, seed=seed, size_bytes=args.size, start=start, run_id=159000 + seed)
    ids = [f"{a.run_id}_{a.event_id}" for a, _ in batch]
    root = Path(tempfile.mkdtemp(prefix="skymist-bench-archive-"))
    with fresh_database() as url:
        topics = make_topics(4)
        settings = bench_settings(url, bootstrap, topics).model_copy(
            update={
                "archive_enabled": archive,
                "archive_dir": root,
                "data_dir": root,
                "archive_write_settle_s": args.settle_s,
            }
        )
        watcher = NoticeWatcher(bootstrap, settings.notice_topic)
        watcher.thread.start()
        log_path = Path(f"{args.log}.{'on' if archive else 'off'}")
        daemon = DaemonProcess(settings, log_path, "--jobs", "ingest,dispatch")
        producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 2, "message.max.bytes": 2_000_000}
        )
        produced: dict[str, float] = {}

        def send(i: int) -> None:
            produced[ids[i]] = time.perf_counter()
            producer.produce(topics[0], batch[i][1])
            producer.flush(10)

        try:
            daemon.start()
            for i in range(3):  # warm-up, not measured
                send(i)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(x in watcher.arrived for x in ids[:3]):
                time.sleep(0.05)
            for i in range(3, len(batch)):
                send(i)
                time.sleep(args.interval_s)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(x in watcher.arrived for x in ids):
                time.sleep(0.05)
            last_notice = time.perf_counter()
            at_last_notice = records_done(root) if archive else 0
            writer_s = None
            if archive:
                while time.monotonic() < deadline + 120 and records_done(root) < len(batch):
                    time.sleep(0.1)
                writer_s = round(time.perf_counter() - last_notice, 2)
            complete = records_done(root)
        finally:
            daemon.close()
            watcher.stop.set()
    latencies = [(watcher.arrived[x] - produced[x]) * 1000 for x in ids[3:] if x in watcher.arrived]
    return {
        "latencies": latencies,
        "records_at_last_notice": at_last_notice,
        "records_complete": complete,
        "writer_behind_s": writer_s,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    _broker, bootstrap = mock_broker()
    modes: dict[str, list[float]] = {"archive_off": [], "archive_on": []}
    writer: list[dict[str, Any]] = []
    for k in range(args.rounds):
        for archive in (False, True):
            result = one_round(args, bootstrap, archive, seed=2 * k + int(archive))
            modes["archive_on" if archive else "archive_off"] += result["latencies"]
            if archive:
                writer.append({key: value for key, value in result.items() if key != "latencies"})
    out: dict[str, Any] = {
        "benchmark": "archive_send_path",
        "alerts_per_round": args.alerts,
        "rounds": args.rounds,
        "interval_s": args.interval_s,
        "message_bytes": args.size,
        "archive_write_settle_s": args.settle_s,
    }
    for name, values in modes.items():
        out[name] = {
            "notices": len(values),
            "p50_ms": round(statistics.median(values), 1) if values else None,
            "p99_ms": round(percentile(values, 99), 1) if values else None,
        }
    off, on = out["archive_off"]["p99_ms"], out["archive_on"]["p99_ms"]
    out["p99_ratio_on_off"] = round(on / off, 2) if off and on else None
    out["archive_on_records"] = writer
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=100, help="measured alerts per round")
    parser.add_argument("--interval-s", type=float, default=0.1)
    parser.add_argument("--size", type=int, default=250_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--settle-s", type=float, default=0.5, help="archive_write_settle_s of the daemon")
    parser.add_argument("--log", default="/tmp/skymist-bench-archive-send.log")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result))
    expected = args.alerts * args.rounds
    return 0 if result["archive_on"]["notices"] == result["archive_off"]["notices"] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
