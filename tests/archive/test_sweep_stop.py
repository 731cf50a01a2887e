"""The archive job's sweep and the record writer stop with the daemon: a sweep told to stop leaves
the records and the site for the next sweep, and a stopped record writer leaves its backlog to the
sweep, which writes them (the daemon's stop never waits for a whole backlog)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from skymist.archive.hooks import RecordWriter, stale_alerts
from skymist.archive.sweep import ArchiveSweep
from skymist.archive.verify import verify_record
from tests.archive.support import drain, settings_for
from tests.refine.support import record_alert


def test_a_stopped_sweep_leaves_its_work_to_the_next(
    app_factory: Any, shared_dir: Path, tmp_path: Path
) -> None:
    app = app_factory(**settings_for(tmp_path), archive_enabled=False, archive_site_interval_s=0.001)
    record_alert(app, shared_dir)
    assert drain(app) == 2  # sent with the archive off: the record is behind the store
    settings = app.settings.model_copy(update={"archive_enabled": True})
    sweep = ArchiveSweep(settings, app.sessions)
    with app.sessions() as session:
        assert len(stale_alerts(settings, session)) == 1

    stop = threading.Event()
    stop.set()
    sweep.sweep(stop=stop)
    folder = settings.archive_root / "IceCube-220524A"
    assert not folder.exists() and not (settings.archive_root / "index.html").exists()

    sweep.sweep(stop=threading.Event())
    assert verify_record(folder) == []
    assert (settings.archive_root / "index.html").exists()
    with app.sessions() as session:
        assert stale_alerts(settings, session) == []


def test_a_stopped_record_writer_leaves_its_backlog_to_the_sweep(
    app_factory: Any, shared_dir: Path, tmp_path: Path
) -> None:
    app = app_factory(**settings_for(tmp_path), archive_enabled=False)
    alert_id = record_alert(app, shared_dir)
    assert drain(app) == 2  # sent with the archive off: the record is behind the store
    folder = app.settings.archive_root / "IceCube-220524A"

    # the writer is still gathering the alert's sends (a long settle) when the daemon stops
    settings = app.settings.model_copy(update={"archive_enabled": True, "archive_write_settle_s": 3600.0})
    writer = RecordWriter(settings, app.sessions)
    writer.submit([alert_id])
    assert writer.stop(flush_s=0.2, timeout_s=60.0) == 1  # left behind, not waited for
    writer.submit([alert_id])  # a send after the stop: for the sweep too
    assert writer.flush(0.0) and not folder.exists()
    with app.sessions() as session:
        assert stale_alerts(settings, session) == [alert_id]
    ArchiveSweep(settings, app.sessions).sweep(stop=threading.Event())
    assert verify_record(folder) == []

    # with time to write the last sends, the stop writes them and leaves nothing
    quick = settings.model_copy(update={"archive_write_settle_s": 0.0, "archive_dir": tmp_path / "again"})
    again = RecordWriter(quick, app.sessions)
    again.submit([alert_id])
    assert again.stop(flush_s=60.0, timeout_s=60.0) == 0
    assert verify_record(quick.archive_root / "IceCube-220524A") == []
