"""The archive's disk full while alerts stream in: notices and Slack messages go out as before (record
writes are off the send path: the after-sent hook hands them to a writer thread), the failures are
logged, counted and told to the shifters, and once space comes back every sent product is in its
record exactly once and ``skymist archive verify`` passes.

The disk is a size-limited tmpfs mounted for the test (root only; skipped with the reason
otherwise), filled up to the last byte by a filler file, emptied again by removing it."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import OutboxState
from skymist.store.models import Alert, OutboxRow
from tests.chaos.harness import PacedProducer, count_sent, daemon_settings, figures, outbox_states, wait_for
from tests.conftest import MockKafka
from tests.support.daemon import DaemonProcess, settings_env
from tests.support.slack_api import SlackStandIn

BEFORE, DURING, AFTER = 15, 40, 10  # alerts with space, with the disk full, after space came back
DISK_SIZE = "16m"


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of the disk; returns the filler file."""
    filler = folder / ".filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    return filler


def send_latency_ms(app: Any, alert_ids: set[int]) -> dict[str, float | int | None]:
    """Queued -> sent of the notices and Slack messages of these alerts (from the store)."""
    with app.sessions() as session:
        rows = session.execute(
            select(OutboxRow.sink, OutboxRow.created_at, OutboxRow.sent_at).where(
                OutboxRow.alert_id.in_(alert_ids), OutboxRow.state == OutboxState.SENT
            )
        ).all()
    out: dict[str, float | int | None] = {}
    for sink in ("kafka", "slack"):
        values = sorted(
            (sent - created).total_seconds() * 1000 for s, created, sent in rows if s == sink and sent
        )
        out[f"{sink}_sent"] = len(values)
        out[f"{sink}_p50_ms"] = round(statistics.median(values), 1) if values else None
        p99 = values[min(len(values) - 1, int(0.99 * len(values)))] if values else None
        out[f"{sink}_p99_ms"] = round(p99, 1) if p99 is not None else None
    return out


def alert_ids(app: Any, run_id: int, event_ids: set[int]) -> set[int]:
    with app.sessions() as session:
        return {
            int(i)
            for i, e in session.execute(select(Alert.id, Alert.event_id).where(Alert.run_id == run_id))
            if int(e) in event_ids
        }


def records_exactly_once(app: Any, root: Path) -> dict[str, int]:
    """Every sent product of every alert in its record's index exactly once."""
    missing = doubled = checked = 0
    with app.sessions() as session:
        sent: dict[int, list[int]] = {}
        for alert_id, row_id in session.execute(
            select(OutboxRow.alert_id, OutboxRow.id).where(OutboxRow.state == OutboxState.SENT)
        ):
            if alert_id is not None:
                sent.setdefault(int(alert_id), []).append(int(row_id))
        names = dict(session.execute(select(Alert.id, Alert.name)).all())
    for alert_id, rows in sent.items():
        index = json.loads((root / str(names[alert_id]) / "data" / "record.json").read_bytes())
        listed = [int(entry["outbox_id"]) for entry in index["sent"]]
        missing += len(set(rows) - set(listed))
        doubled += len(listed) - len(set(listed))
        checked += len(rows)
    return {"products_checked": checked, "missing_from_records": missing, "doubled_in_records": doubled}


def test_archive_disk_full_while_alerts_stream(
    database_url: str, kafka: MockKafka, topic: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    run_id = 145000
    batch = alert_batch(BEFORE + DURING + AFTER, seed=31, size_bytes=5_000, run_id=run_id)
    phases = {
        "before": batch[:BEFORE],
        "disk_full": batch[BEFORE : BEFORE + DURING],
        "after": batch[BEFORE + DURING :],
    }
    with small_disk(tmp_path / "archive") as disk:
        settings = daemon_settings(
            database_url,
            kafka,
            topic,
            slack,
            archive_dir=disk,
            archive_sweep_interval_s=2.0,
            archive_site_interval_s=0.0,
            shifters_repeat_s=86400.0,
            log_level="INFO",
        )
        app = build_app(settings)
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")
        expected = 0
        latency: dict[str, Any] = {}
        try:
            daemon.start()
            for name, alerts in phases.items():
                if name == "disk_full":
                    filler = fill(disk)
                    assert os.statvfs(disk).f_bavail == 0
                if name == "after":
                    filler.unlink()
                values = [v for _, v in alerts]
                producer = PacedProducer(kafka.producer(), topic, values, per_flush=5, pause_s=0.5)
                assert producer.done.wait(120)
                expected += 3 * len(alerts)
                wait_for(
                    lambda goal=expected: count_sent(app) >= goal,  # type: ignore[misc]
                    120,
                    f"every product of the '{name}' alerts",
                    lambda: outbox_states(app),
                )
                ids = alert_ids(app, run_id, {a.event_id for a, _ in alerts})
                latency[name] = send_latency_ms(app, ids)
                if name == "disk_full":
                    # the records are written behind the sends, by a thread that may still be on the
                    # earlier alerts' records: the disk stays full until it has tried one and failed
                    wait_for(
                        lambda: "archive record not written" in daemon.log_text(),
                        120,
                        "an archive write to fail on the full disk",
                    )
                    assert os.statvfs(disk).f_bavail == 0, "the disk had room while the alerts were sent"
            # the shifters are told (a paced message, queued at the first failure, sent after the
            # alerts' own messages); counted once more after the daemon stopped: told once
            wait_for(
                lambda: any("archive records not written" in t for t in slack.texts()),
                120,
                "the shifters' message about the archive",
                lambda: slack.texts()[-3:],
            )
            # space is back: the archive job's sweep completes every record behind the store
            wait_for(
                lambda: records_exactly_once(app, disk)["missing_from_records"] == 0,
                180,
                "every record complete",
                lambda: records_exactly_once(app, disk),
            )
            verify = subprocess.run(
                [sys.executable, "-m", "skymist.cli.main", "archive", "verify"],
                env=settings_env(settings),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert daemon.terminate() == 0
        finally:
            daemon.close()
        told = [t for t in slack.texts() if "archive records not written" in t]
        in_records = records_exactly_once(app, disk)
    lines = [json.loads(x) for x in daemon.log_text().splitlines() if x.startswith("{")]
    counters = next(x["counters"] for x in reversed(lines) if x.get("message") == "daemon stopped")
    keys = [
        m["metadata"]["event_payload"]["key"]
        for m in slack.messages
        if "metadata" in m and not m["metadata"]["event_payload"]["key"].startswith("shifters:")
    ]
    result = figures(
        "archive disk full while alerts stream",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=keys,
        latency_queued_to_sent=latency,
        archive_write_failed=counters.get("archive_write_failed", 0),
        archive_write_recovered=counters.get("archive_write_recovered", 0),
        shifters_told_archive=len(told),
        archive_verify_exit=verify.returncode,
        records=in_records,
    )
    app.close()
    result.check()
    assert result.dead_lettered == 0
    assert counters.get("archive_write_failed", 0) > 0, counters
    assert len(told) == 1, slack.texts()
    assert in_records["missing_from_records"] == 0 and in_records["doubled_in_records"] == 0, in_records
    assert verify.returncode == 0, verify.stdout + verify.stderr
