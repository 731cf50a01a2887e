"""Writers of one alert's record in several processes (daemons' after-sent hooks, the sweep, the CLI)
take turns: a PostgreSQL advisory lock keyed by the alert's id, held to the end of the writer's
transaction. Not the alert's row: a transaction changing the alert is never held up by a record write."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from skymist.archive.writer import lock_record, write_record
from skymist.store.models import Alert
from tests.archive.support import settings_for
from tests.refine.support import record_alert


def test_a_second_writer_waits_for_the_first_and_the_alert_row_stays_free(
    app_factory: Any, shared_dir: Path, tmp_path: Path
) -> None:
    app = app_factory(**settings_for(tmp_path))
    alert_id = record_alert(app, shared_dir)
    index = app.settings.archive_root / "IceCube-220524A" / "data" / "record.json"
    index.unlink(missing_ok=True)
    done = threading.Event()

    def second_writer() -> None:
        write_record(app.settings, app.sessions, alert_id)
        done.set()

    with app.sessions() as other_process, other_process.begin():
        lock_record(other_process, alert_id)  # a writer in another process holds the record
        thread = threading.Thread(target=second_writer, daemon=True)
        thread.start()
        assert not done.wait(1.5), "the second writer did not wait for the first"
        with app.sessions() as session, session.begin():  # the alert itself can still be changed
            row = session.execute(
                select(Alert).where(Alert.id == alert_id).with_for_update(nowait=True)
            ).scalar_one()
            row.updated_at = row.updated_at
    assert done.wait(60), "the second writer did not go on once the first was done"
    assert index.is_file()
