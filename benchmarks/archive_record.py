"""What an alert's archive record costs: the write the after-sent hook does, a rebuild, a verify.

Takes IceCube-220524A's real event through Rev 0 and its real scan through Rev 1 (fresh PostgreSQL
database, librdkafka's mock cluster for the notices), then times, --repeat times each:
- ``write_unchanged``: the hook's write when nothing changed (every file compared, none written);
- ``write_after_send``: the write after one more product went out (one product file, index, crate,
  manifests rewritten);
- ``rebuild_fresh``: the whole record written from an empty folder;
- ``verify``: BagIt + RO-Crate + DataCite checks of the record.

Prints one JSON line (milliseconds). Needs PostgreSQL at $SKYMIST_BENCH_PG and ../shared/data/real.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.support import fresh_database, mock_broker  # noqa: E402
from skymist.alerts.refined import localize_alert  # noqa: E402
from skymist.archive.verify import verify_record  # noqa: E402
from skymist.archive.writer import write_record  # noqa: E402
from skymist.config import Settings  # noqa: E402
from skymist.outbox.dispatcher import Dispatcher  # noqa: E402
from skymist.outbox.sinks.factory import build_sinks  # noqa: E402
from skymist.runtime.assembly import build_app  # noqa: E402
from skymist.skymap.convert import metadata_from_event_message, to_skyreader_dict  # noqa: E402
from skymist.skymap.reader import read_scan  # noqa: E402
from tests.refine.support import mark_localization_pending, record_alert  # noqa: E402

SHARED = next((c for c in (REPO.parent / "shared", REPO / "shared") if (c / "data" / "real").is_dir()), REPO)


def timed(work: Callable[[], object], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000.0)
    return {"median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="skymist-archive-bench-"))
    _broker, bootstrap = mock_broker(log_level=3)
    try:
        with fresh_database() as url:
            settings = Settings(
                database_url=url,
                kafka_bootstrap_servers=bootstrap,
                slack_mode="off",
                scans_enabled=False,
                data_dir=folder,
                log_level="WARNING",
            )
            measure(settings, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(settings: Settings, repeat: int) -> None:
    """Record the real alert through Rev 1, then time the record's writes and verify."""
    app = build_app(settings)
    real = SHARED / "data" / "real"
    event = json.loads((real / "run00136662-evt000035405932-BRONZE.json").read_text())
    scan = json.dumps(
        to_skyreader_dict(
            read_scan(real / "run00136662-evt000035405932-BRONZE-8_64_512.npz"),
            metadata_from_event_message(event),
        )
    ).encode()
    alert_id = record_alert(app, SHARED)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    dispatcher.drain(30)
    mark_localization_pending(app, alert_id)
    localize_alert(app, alert_id, scan, scan_ref="scan:1:bench")
    dispatcher.drain(30)
    dispatcher.close()
    record = settings.archive_root / "IceCube-220524A"
    index = record / "data" / "record.json"
    n_files = sum(1 for p in record.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in record.rglob("*") if p.is_file())

    def after_send() -> None:
        index.write_bytes(b"{}")  # as if one file were behind: rewritten with what depends on it
        write_record(settings, app.sessions, alert_id)

    def rebuild_fresh() -> None:
        shutil.rmtree(record)
        write_record(settings, app.sessions, alert_id)

    if os.environ.get("SKYMIST_BENCH_PROFILE"):
        import cProfile
        import pstats

        cProfile.runctx("for _ in range(5): after_send()", globals(), locals(), "/tmp/archive.prof")
        pstats.Stats("/tmp/archive.prof").sort_stats("cumulative").print_stats(25)
    result = {
        "benchmark": "archive_record",
        "record_files": n_files,
        "record_bytes": size,
        "write_unchanged": timed(lambda: write_record(settings, app.sessions, alert_id), repeat),
        "write_after_send": timed(after_send, repeat),
        "rebuild_fresh": timed(lambda: rebuild_fresh(), repeat),
        "verify": timed(lambda: verify_record(record), repeat),
        "verify_problems": len(verify_record(record)),
    }
    app.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
