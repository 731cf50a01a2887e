"""The archive job's sweep stops with the daemon: a sweep told to stop leaves the records and the
site for the next sweep, which writes them (the daemon's stop never waits for a whole backlog)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from skymist.archive.hooks import stale_alerts
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
