"""Scanner throughput: pixels per second with 1 and 2 in-process workers and 1 and 2 RabbitMQ workers.

Each pixel costs a fixed amount of CPU (the dummy reco's ``cpu_work``, calibrated here to
--pixel-cpu-ms of pure-Python work that holds the GIL), so the scaling measures parallel work, not
sleeping. Every configuration first runs a small warm-up scan (worker processes started, caches
filled), then the timed scan of the real event at --nsides; the rate is pixels / wall time of
``run_scan``. The broker's per-pixel overhead is measured apart, with zero-cost fits and one worker on
each path: (wall time per pixel through RabbitMQ) - (wall time per pixel in-process). The machine may be
shared: each configuration runs --repeat times, interleaved, and its best rate is reported, with the
load average before and after.

Prints one JSON line with --json. Needs RabbitMQ at --broker (default amqp://guest:guest@127.0.0.1:5672/).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pika

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skyscan.engine import ScanRequest, run_scan  # noqa: E402
from skyscan.recos.dummy import burn_cpu  # noqa: E402
from skyscan.workers import PixelPool, open_pool  # noqa: E402

DEFAULT_EVENT = REPO.parent / "shared" / "data" / "real" / "run00138632-evt000031747601-BRONZE.json"


class Quiet:
    """Observer that keeps nothing (the benchmark measures the scan, not the reporting)."""

    def manifest_patch(self, body: dict[str, Any]) -> None:
        pass

    def result(self, skyscan_result: dict[str, Any], is_final: bool) -> None:
        pass


def calibrate(pixel_cpu_ms: float) -> int:
    """``cpu_work`` units that take ``pixel_cpu_ms`` of CPU here (median of a few tries)."""
    probe = 200_000
    timings = []
    for _ in range(5):
        started = time.process_time()
        burn_cpu(probe)
        timings.append(time.process_time() - started)
    per_unit = sorted(timings)[2] / probe
    return max(1, round(pixel_cpu_ms / 1000.0 / per_unit))


#: which reco the timed scans use: "dummy" (fixed CPU per pixel, --pixel-cpu-ms) or a real one
RECO = {"name": "dummy"}


def timed_scan(
    pool: PixelPool, event: dict[str, Any], nsides: tuple[tuple[int, int], ...], cpu_work: int
) -> tuple[int, float]:
    """(pixels, seconds) of one scan, after a warm-up scan on the same pool."""
    reco = RECO["name"]
    options: dict[str, Any] = {"cpu_work": cpu_work, "seed": 1} if reco == "dummy" else {}
    run_scan(
        ScanRequest(f"warmup-{uuid.uuid4().hex[:6]}", event, reco, ((1, 0),), reco_options=options),
        Quiet(),
        pool=pool,
    )
    started = time.perf_counter()
    result = run_scan(
        ScanRequest(f"bench-{uuid.uuid4().hex[:6]}", event, reco, nsides, reco_options=options),
        Quiet(),
        pool=pool,
    )
    elapsed = time.perf_counter() - started
    return sum(len(entry["data"]) for entry in result.values()), elapsed


def in_process(
    event: dict[str, Any], nsides: tuple[tuple[int, int], ...], cpu_work: int, workers: int
) -> tuple[int, float]:
    with open_pool("inprocess", workers=workers) as pool:
        return timed_scan(pool, event, nsides, cpu_work)


def through_broker(
    event: dict[str, Any], nsides: tuple[tuple[int, int], ...], cpu_work: int, workers: int, broker: str
) -> tuple[int, float]:
    queue = f"skyscan.bench.{uuid.uuid4().hex[:10]}"
    try:
        with open_pool("rabbitmq", workers=workers, broker_url=broker, task_queue=queue) as pool:
            return timed_scan(pool, event, nsides, cpu_work)
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(broker))
        connection.channel().queue_delete(queue=queue)
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--event", type=Path, default=DEFAULT_EVENT, help="i3live event message (JSON)")
    parser.add_argument("--nsides", default="8:0", help="nside progression of the timed scans")
    parser.add_argument("--pixel-cpu-ms", type=float, default=10.0, help="CPU cost of one pixel fit (ms)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best rate of each is reported")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/", help="RabbitMQ URL")
    parser.add_argument(
        "--reco", default="dummy", help="reco of the timed scans: dummy (--pixel-cpu-ms) or e.g. pandel_mpe"
    )
    args = parser.parse_args()
    RECO["name"] = args.reco

    from skyscan.pixels import NsideProgression

    event = json.loads(args.event.read_text())
    nsides = NsideProgression.parse(args.nsides).steps
    cpu_work = calibrate(args.pixel_cpu_ms)
    load_before = os.getloadavg()[0]

    # best of --repeat rounds, configurations interleaved: the machine is shared, and contention only
    # ever slows a run down
    runs: dict[str, list[tuple[int, float]]] = {"1": [], "2": [], "mq1": [], "mq": []}
    for _ in range(args.repeat):
        runs["1"].append(in_process(event, nsides, cpu_work, 1))
        runs["2"].append(in_process(event, nsides, cpu_work, 2))
        runs["mq1"].append(through_broker(event, nsides, cpu_work, 1, args.broker))
        runs["mq"].append(through_broker(event, nsides, cpu_work, 2, args.broker))
    pixels_1 = runs["1"][0][0]
    rate_1, rate_2, rate_mq1, rate_mq = (
        max(pixels / seconds for pixels, seconds in runs[key]) for key in ("1", "2", "mq1", "mq")
    )
    # the broker's own cost per pixel: zero-cost fits (the dummy reco), one worker on each path
    RECO["name"] = "dummy"
    overhead_nsides = NsideProgression.parse("8:0").steps
    pixels_z, seconds_z_inproc = in_process(event, overhead_nsides, 0, 1)
    pixels_zmq, seconds_z_mq = through_broker(event, overhead_nsides, 0, 1, args.broker)
    load_after = os.getloadavg()[0]

    report = {
        "benchmark": "scan_throughput",
        "cores": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(load_after, 2),
        "repeat": args.repeat,
        "nsides": args.nsides,
        "reco": args.reco,
        "pixels_per_scan": pixels_1,
        "inprocess_1_worker_scan_s": round(min(s for _, s in runs["1"]), 2),
        "inprocess_2_workers_scan_s": round(min(s for _, s in runs["2"]), 2),
        "rabbitmq_1_worker_scan_s": round(min(s for _, s in runs["mq1"]), 2),
        "rabbitmq_2_workers_scan_s": round(min(s for _, s in runs["mq"]), 2),
        "pixel_cpu_ms": args.pixel_cpu_ms if args.reco == "dummy" else None,
        "cpu_work_units": cpu_work,
        "inprocess_1_worker_pixels_per_s": round(rate_1, 1),
        # one worker is one core fitting: its wall time per pixel is the reco's cost per pixel per core
        "inprocess_1_worker_ms_per_pixel": round(1000.0 / rate_1, 2),
        "inprocess_2_workers_pixels_per_s": round(rate_2, 1),
        "rabbitmq_1_worker_pixels_per_s": round(rate_mq1, 1),
        "rabbitmq_2_workers_pixels_per_s": round(rate_mq, 1),
        "speedup_2_vs_1_inprocess": round(rate_2 / rate_1, 3),
        "speedup_2_vs_1_rabbitmq": round(rate_mq / rate_mq1, 3),
        "round_pixels_per_s": {
            key: [round(pixels / seconds, 1) for pixels, seconds in runs[key]] for key in runs
        },
        "speedup_2_rabbitmq_vs_1_inprocess": round(rate_mq / rate_1, 3),
        "broker_overhead_ms_per_pixel": round(
            1000.0 * (seconds_z_mq / pixels_zmq - seconds_z_inproc / pixels_z), 3
        ),
        "inprocess_zero_cost_ms_per_pixel": round(1000.0 * seconds_z_inproc / pixels_z, 3),
        "rabbitmq_zero_cost_ms_per_pixel": round(1000.0 * seconds_z_mq / pixels_zmq, 3),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:40s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
