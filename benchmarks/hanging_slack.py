"""Notice latency while the Slack webhook hangs: quiet phase (Slack answers at once), then a phase
in which every Slack POST hangs for --hang-s seconds (default 90). One daemon, real-size alerts one
every --interval-s. The dispatch job runs one loop per sink, so the notice latency should not move.

Prints one JSON line (p50/p99 of produce -> notice for both phases). Needs PostgreSQL like
prompt_latency.py."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from pydantic import SecretStr

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
from tests.support.scripted_http import Answer, ScriptedHttp  # noqa: E402


def run(args: argparse.Namespace) -> dict[str, Any]:
    _broker, bootstrap = mock_broker()
    n_phase = int(args.hang_s / args.interval_s)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    batch = alert_batch(2 * n_phase + 3, seed=9, size_bytes=args.size, start=start, run_id=158000)
    ids = [f"{a.run_id}_{a.event_id}" for a, _ in batch]
    phases: dict[str, list[float]] = {}
    with fresh_database() as url, ScriptedHttp() as slack:
        topics = make_topics(4)
        settings = bench_settings(url, bootstrap, topics).model_copy(
            update={
                "slack_mode": "webhook",
                "slack_webhook_url": SecretStr(slack.url),
                "sink_timeout_s": args.hang_s + 5,
            }
        )
        watcher = NoticeWatcher(bootstrap, settings.notice_topic)
        watcher.thread.start()
        daemon = DaemonProcess(settings, Path(args.log))
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "log_level": 2})
        produced: dict[str, float] = {}

        def send(i: int) -> None:
            produced[ids[i]] = time.perf_counter()
            producer.produce(topics[0], batch[i][1])
            producer.flush(10)

        try:
            daemon.start()
            for i in range(3):
                send(i)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(x in watcher.arrived for x in ids[:3]):
                time.sleep(0.05)
            for name, first in (("quiet", 3), ("slack_hanging", 3 + n_phase)):
                if name == "slack_hanging":
                    slack.default = Answer(hang_s=args.hang_s)
                for i in range(first, first + n_phase):
                    send(i)
                    time.sleep(args.interval_s)
                time.sleep(1.0)
                phases[name] = [
                    (watcher.arrived[x] - produced[x]) * 1000
                    for x in ids[first : first + n_phase]
                    if x in watcher.arrived
                ]
            slack.release.set()
        finally:
            daemon.close()
            watcher.stop.set()
    out: dict[str, Any] = {"benchmark": "hanging_slack", "hang_s": args.hang_s, "message_bytes": args.size}
    for name, values in phases.items():
        out[name] = {
            "alerts": n_phase,
            "notices": len(values),
            "p50_ms": round(statistics.median(values), 1) if values else None,
            "p99_ms": round(percentile(values, 99), 1) if values else None,
        }
    quiet, hanging = out["quiet"]["p99_ms"], out["slack_hanging"]["p99_ms"]
    out["p99_ratio"] = round(hanging / quiet, 2) if quiet and hanging else None
    out["slack_requests_during_hang"] = len(slack.received)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hang-s", type=float, default=90.0)
    parser.add_argument("--interval-s", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=250_000)
    parser.add_argument("--log", default="/tmp/skymist-bench-hanging.log")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result))
    return 0 if result["slack_hanging"]["notices"] == result["slack_hanging"]["alerts"] else 1


if __name__ == "__main__":
    sys.exit(main())
