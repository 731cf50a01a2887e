"""How soon the daemon writes again after the store comes back: PostgreSQL refuses every connection
to the daemon's database for --refused-s seconds (default 40; its sessions ended, new ones turned
away) while alerts keep coming (one every --interval-s), then lets them in again.

Measured per run, from the moment connections are allowed again: the first inbox row written
(``first_row_after_store_s``, target <= 5 s), the first notice of an alert produced during the
outage on the broker, and the last. ``--retry-max-s`` sets the daemon's ``store_retry_max_s``
(default: the setting's default; 30 reproduces the consumer's old cap). Prints one JSON line.
Needs PostgreSQL like prompt_latency.py."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.support import (  # noqa: E402
    ADMIN,
    NoticeWatcher,
    bench_settings,
    fresh_database,
    make_topics,
    mock_broker,
)
from skymist.app import open_app  # noqa: E402
from skymist.config import Settings  # noqa: E402
from skymist.runtime.simulate import alert_batch  # noqa: E402
from skymist.store.models import InboxMessage  # noqa: E402
from tests.support.daemon import DaemonProcess  # noqa: E402
from tests.support.store_gate import StoreGate  # noqa: E402


def one_run(args: argparse.Namespace, bootstrap: str, run: int) -> dict[str, Any]:
    n_during = max(1, int(args.refused_s / args.interval_s))
    batch = alert_batch(3 + n_during, seed=60 + run, size_bytes=args.size, run_id=159000 + run)
    ids = [f"{a.run_id}_{a.event_id}" for a, _ in batch]
    with fresh_database() as url:
        topics = make_topics(4)
        settings = bench_settings(url, bootstrap, topics)
        if args.retry_max_s is not None:
            settings = settings.model_copy(update={"store_retry_max_s": args.retry_max_s})
        gate = StoreGate(ADMIN, url.rsplit("/", 1)[1])
        watcher = NoticeWatcher(bootstrap, settings.notice_topic)
        watcher.thread.start()
        daemon = DaemonProcess(settings, Path(args.log))
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 2})
        app = open_app(settings)
        try:
            daemon.start()
            for _alert, value in batch[:3]:
                producer.produce(topics[0], value)
            producer.flush(10)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(x in watcher.arrived for x in ids[:3]):
                time.sleep(0.05)
            app.engine.dispose()
            gate.refuse()
            refused_at = dt.datetime.now(dt.UTC)
            began = time.monotonic()
            try:
                for _alert, value in batch[3:]:
                    producer.produce(topics[0], value)
                    producer.flush(10)
                    time.sleep(max(0.0, min(args.interval_s, args.refused_s - (time.monotonic() - began))))
                time.sleep(max(0.0, args.refused_s - (time.monotonic() - began)))
            finally:
                gate.allow()
            allowed_at, allowed_perf = dt.datetime.now(dt.UTC), time.perf_counter()
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not all(x in watcher.arrived for x in ids[3:]):
                time.sleep(0.05)
            with app.sessions() as session:
                first_row = session.execute(
                    select(func.min(InboxMessage.received_at)).where(InboxMessage.received_at >= refused_at)
                ).scalar_one()
        finally:
            daemon.close()
            watcher.stop.set()
            app.close()
    arrived = [watcher.arrived[x] - allowed_perf for x in ids[3:] if x in watcher.arrived]
    return {
        "first_row_after_store_s": (
            round((first_row - allowed_at).total_seconds(), 2) if first_row is not None else None
        ),
        "first_notice_after_store_s": round(min(arrived), 2) if arrived else None,
        "last_notice_after_store_s": round(max(arrived), 2) if arrived else None,
        "alerts_during_outage": n_during,
        "notices_after_store": len(arrived),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--refused-s", type=float, default=40.0)
    parser.add_argument("--interval-s", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--retry-max-s", type=float, default=None)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--log", default="/tmp/skymist-bench-store-recovery.log")
    args = parser.parse_args()
    _broker, bootstrap = mock_broker()
    runs = [one_run(args, bootstrap, k) for k in range(args.runs)]
    firsts = [r["first_row_after_store_s"] for r in runs if r["first_row_after_store_s"] is not None]
    result = {
        "benchmark": "store_recovery",
        "refused_s": args.refused_s,
        "store_retry_max_s": args.retry_max_s
        if args.retry_max_s is not None
        else Settings.model_fields["store_retry_max_s"].default,
        "first_row_after_store_s_max": max(firsts) if firsts else None,
        "runs": runs,
    }
    print(json.dumps(result))
    complete = all(r["notices_after_store"] == r["alerts_during_outage"] for r in runs)
    return 0 if complete and len(firsts) == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
