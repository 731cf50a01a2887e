"""The record of trouble (skymist.trouble): one table, kept in the transactions that cause trouble, read by
``skymist check`` (its outbox, dead_letters and trouble checks, run as the command) and by the
console; acknowledging an item keeps it on the record, marked, audited, and stops it counting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from scanner_client import new_request_key
from skymist.archive.trouble import ArchiveTrouble
from skymist.cli.main import main
from skymist.ingest.dead_letters import discard_letters
from skymist.ingest.inbox import Ingestor
from skymist.ingest.shifters import StreamEvent, tell_stream_event
from skymist.outbox.manual import retry_rows
from skymist.states import OutboxState, ScanState, TroubleState
from skymist.store.models import OutboxRow
from skymist.store.product_models import AuditEntry
from skymist.store.scan_models import Scan
from skymist.store.trouble_models import TroubleEntry
from skymist.store.types import utcnow
from skymist.trouble import TroubleError, TroubleKind, acknowledge, read_trouble
from tests.helpers import raw
from tests.ops.test_check import check
from tests.refine.support import record_alert


def add_scan(app: Any, alert_id: int, entry: str, state: ScanState, **values: Any) -> int:
    with app.sessions() as session, session.begin():
        scan = Scan(
            alert_id=alert_id,
            revision=0,
            plan_entry=entry,
            plan={"name": entry},
            priority=1,
            request_key=new_request_key(),
            state=state,
            deadline_at=utcnow() + dt.timedelta(hours=1),
            finished_at=utcnow(),
            **values,
        )
        session.add(scan)
        session.flush()
        return int(scan.id)


def test_every_source_is_on_the_record_and_check_counts_what_is_not_acknowledged(
    app_factory: Any, shared_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory(
        slack_mode="webhook", slack_webhook_url="http://127.0.0.1:9/hook", handoff_max_attempts=2
    )
    for name in ("outbox", "dead_letters", "trouble"):
        assert check(app, capsys, monkeypatch, name)[0] == 0, name
    alert_id = record_alert(app, shared_dir)
    [bad] = Ingestor(app).ingest_batch([raw(b'{"alert": {"stream": "GOLD"}, "event": {}}')])
    assert bad.status == "dead_letter"
    with app.sessions() as session, session.begin():
        row = session.execute(select(OutboxRow).where(OutboxRow.product == "voevent")).scalar_one()
        session.execute(
            update(OutboxRow).where(OutboxRow.id == row.id).values(state=OutboxState.DEAD, last_error="x")
        )
        tell_stream_event(
            session, app, StreamEvent.OFFSET_RESET, topic="in", partition=2, offset=7, count=1, detail="d"
        )
    failed = add_scan(app, alert_id, "fast", ScanState.FAILED, last_error="deadline passed")
    handoff = add_scan(app, alert_id, "slow", ScanState.FINAL, backend_scan_id="b1", handoff_attempts=2,
                       handoff_error="OSError: disk full")  # fmt: skip
    add_scan(
        app, alert_id, "again", ScanState.FINAL, backend_scan_id="b2", handoff_attempts=1, handoff_error="e"
    )
    ArchiveTrouble(app).failed(alert_id, OSError(28, "No space left on device"))

    with app.sessions() as session:
        record = read_trouble(session, app.settings)
    kinds = {(t.kind, t.id) for t in record.items}
    archive = [t for t in record.items if t.kind == TroubleKind.ARCHIVE]
    stream = [t for t in record.items if t.kind == TroubleKind.INPUT_STREAM]
    assert (TroubleKind.OUTBOX_DEAD, row.id) in kinds
    assert (TroubleKind.SCAN_FAILED, failed) in kinds and (TroubleKind.HANDOFF_FAILED, handoff) in kinds
    assert len(archive) == 1 and len(stream) == 1 and "offset reset at in/2/7" in stream[0].summary
    assert len(record.of(TroubleKind.DEAD_LETTER)) == 1
    assert len(record.of(TroubleKind.HANDOFF_FAILED)) == 1  # the one still retried is not given up
    assert {k: record.open(k) for k in TroubleKind} == {
        TroubleKind.DEAD_LETTER: 1,
        TroubleKind.OUTBOX_DEAD: 1,
        TroubleKind.OUTBOX_FAILING: 0,
        TroubleKind.HANDOFF_FAILED: 1,
        TroubleKind.SCAN_FAILED: 1,
        TroubleKind.ARCHIVE: 1,
        TroubleKind.INPUT_STREAM: 1,
    }

    # skymist check reads the same record
    code, result, line = check(app, capsys, monkeypatch, "trouble")
    assert code == 1 and "1 failed hand-off(s), 1 failed scan(s), 1 archive warning(s)" in line
    assert result["perfdata"]["trouble_input_stream"] == 1
    assert check(app, capsys, monkeypatch, "outbox")[1]["perfdata"]["outbox_dead"] == 1
    assert check(app, capsys, monkeypatch, "dead_letters")[0] == 1

    # acknowledged one by one (with a reason, audited): still on the record, no longer counted
    with app.sessions() as session, session.begin():
        with pytest.raises(TroubleError, match="needs a reason"):
            acknowledge(session, app.settings, TroubleKind.SCAN_FAILED, failed, by="ana", reason=" ")
        with pytest.raises(TroubleError, match="acknowledged one by one"):
            acknowledge(session, app.settings, TroubleKind.OUTBOX_DEAD, row.id, by="ana", reason="x")
        for item in (*archive, *stream):
            acknowledge(session, app.settings, item.kind, item.id, by="ana", reason="seen, disk freed")
        acknowledge(session, app.settings, TroubleKind.SCAN_FAILED, failed, by="ana", reason="rescanned")
        acknowledge(session, app.settings, TroubleKind.HANDOFF_FAILED, handoff, by="ana", reason="known bug")
    with (
        app.sessions() as session,
        session.begin(),
        pytest.raises(TroubleError, match="already acknowledged"),
    ):
        acknowledge(session, app.settings, TroubleKind.SCAN_FAILED, failed, by="ana", reason="again")
    assert check(app, capsys, monkeypatch, "trouble")[0] == 0
    with app.sessions() as session:
        record = read_trouble(session, app.settings)
        assert all(
            t.acknowledged for t in record.items if t.kind in (TroubleKind.SCAN_FAILED, TroubleKind.ARCHIVE)
        )
        acks = session.execute(
            select(AuditEntry).where(AuditEntry.action == "trouble_acknowledged")
        ).scalars()
        assert sorted(e.reason or "" for e in acks) == [
            "known bug",
            "rescanned",
            "seen, disk freed",
            "seen, disk freed",
        ]

    # dead letters: acknowledged up to an id, as `skymist dead-letter ack` always did (now audited)
    assert main(["dead-letter", "ack", "--by", "ana", "--reason", "a test message"]) == 0
    capsys.readouterr()
    assert check(app, capsys, monkeypatch, "dead_letters")[0] == 0
    with app.sessions() as session:
        assert read_trouble(session, app.settings).of(TroubleKind.DEAD_LETTER)[0].acknowledged
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.action == "dead_letters_acknowledged")
        ).scalar_one()
        assert (entry.actor, entry.reason) == ("ana", "a test message")


def test_the_record_is_written_in_the_transaction_that_causes_the_trouble(
    app_factory: Any, shared_dir: Path
) -> None:
    """Every write to a dead letter, an outbox row or a scan keeps the record (skymist.trouble_record):
    a rolled back transaction leaves nothing, a cause gone resolves the item, one given up again after
    that is open again; a dead letter keeps its raw input."""
    app = app_factory()
    alert_id = record_alert(app, shared_dir)
    with app.sessions() as session:
        row_id = session.execute(select(OutboxRow.id).where(OutboxRow.product == "voevent")).scalar_one()
    dead = update(OutboxRow).where(OutboxRow.id == row_id).values(state=OutboxState.DEAD, last_error="no")

    def states() -> dict[tuple[str, int], str]:
        with app.sessions() as session:
            entries = session.execute(select(TroubleEntry)).scalars()
            return {(e.kind.value, e.source_id): e.state.value for e in entries}

    with app.sessions() as session:
        session.begin()
        session.execute(dead)
        session.rollback()
    assert ("outbox_dead", row_id) not in states()
    with app.sessions() as session, session.begin():
        session.execute(dead)
    assert states()[("outbox_dead", row_id)] == "open"
    retry_rows(app.sessions, [row_id], by="ana", reason="sink fixed")
    assert states()[("outbox_dead", row_id)] == "resolved"
    with app.sessions() as session, session.begin():
        session.execute(dead)
    assert states()[("outbox_dead", row_id)] == "open"
    with app.sessions() as session:
        assert [t.id for t in read_trouble(session, app.settings).of(TroubleKind.OUTBOX_DEAD)] == [row_id]

    message = b'{"alert": {"stream": "GOLD"}, "event": {}}'
    [bad] = Ingestor(app).ingest_batch([raw(message)])
    assert bad.status == "dead_letter"
    with app.sessions() as session, session.begin():
        entry = session.execute(
            select(TroubleEntry).where(TroubleEntry.kind == TroubleKind.DEAD_LETTER)
        ).scalar_one()
        assert entry.raw == message and entry.state == TroubleState.OPEN
        discard_letters(session, [entry.source_id], by="ana", reason="a test message")
    assert states()[("dead_letter", entry.source_id)] == "resolved"

    failed = add_scan(app, alert_id, "fast", ScanState.FAILED, last_error="deadline passed")
    assert states()[("scan_failed", failed)] == "open"
