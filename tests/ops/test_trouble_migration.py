"""Migration 0010 builds the record of trouble (skymist.store.trouble_models) and fills it from the rows
that were there before, classified as the five-place reader did, acknowledgements included; it goes
down (the ``acked:`` marks written back) and up again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, insert, select

from skymist.outbox import keys
from skymist.store.db import alembic_config, make_engine, make_sessionmaker, upgrade
from skymist.store.models import Alert, DeadLetter, OutboxRow
from skymist.store.ops_models import OpsMark
from skymist.store.scan_models import Scan
from skymist.store.trouble_models import TroubleEntry, TroubleKind
from skymist.store.types import utcnow
from skymist.trouble import read_trouble
from tests.conftest import fresh_database, make_settings
from tests.support.migrations import down_and_up_on_sqlite, model_differences

BEFORE, MINE = "0009_console_sessions", "0010_trouble_record"
STREAM = "slack_input_stream"


def test_migration_matches_the_trouble_model_on_postgresql(database_url: str) -> None:
    assert model_differences(database_url, {TroubleEntry.__tablename__}) == []


def test_migration_upgrades_and_downgrades_on_sqlite(tmp_path: Path) -> None:
    columns = down_and_up_on_sqlite(tmp_path, MINE, BEFORE, {"trouble"})
    assert {"kind", "subject", "summary", "reason", "raw", "state", "source_table", "source_id"} <= columns[
        "trouble"
    ]


def _add(engine: Engine, table: Any, **values: Any) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def _outbox(engine: Engine, key: str, state: str, **values: Any) -> int:
    row = {"sink": "kafka", "destination": "t", "product": "voevent", "payload": b"{}"}
    row.update(content_type="application/json", idempotency_key=key, state=state, **values)
    return _add(engine, OutboxRow.__table__, **row)


def _scan(engine: Engine, alert_id: int, entry: str, state: str, **values: Any) -> int:
    return _add(
        engine,
        Scan.__table__,
        alert_id=alert_id,
        revision=0,
        plan_entry=entry,
        plan={"name": entry},
        priority=1,
        request_key=f"key-{entry}",
        state=state,
        deadline_at=utcnow(),
        finished_at=utcnow(),
        **values,
    )


def _rows_at_0009(engine: Engine) -> dict[str, int]:
    """Every kind of trouble as the five places kept it, and what is no trouble."""
    event_time = dt.datetime(2022, 5, 24, tzinfo=dt.UTC)
    alert = _add(
        engine, Alert.__table__, run_id=1, event_id=2, stream="GOLD", source="realtime", state="prompt_sent",
        event_time=event_time,
    )  # fmt: skip
    letter = {"source": "in/0/1", "raw": b"\x00raw", "reason": "bad JSON", "field": "event.time"}
    ids = {
        "letter_acked": _add(engine, DeadLetter.__table__, **letter),
        "letter_open": _add(engine, DeadLetter.__table__, **{**letter, "field": None, "attempts": 3}),
        "letter_discarded": _add(engine, DeadLetter.__table__, **{**letter, "state": "discarded"}),
        "dead": _outbox(engine, "a:1", "dead", alert_id=alert, revision=0, attempts=5, last_error="refused"),
        "failing": _outbox(engine, "a:2", "pending", alert_id=alert, attempts=2, last_error="timeout"),
        "sent": _outbox(engine, "a:3", "sent", alert_id=alert),
        "archive": _outbox(engine, keys.shifters_warning(keys.ARCHIVE_UNWRITABLE, 9), "sent", sink="slack"),
        "stream": _outbox(
            engine,
            keys.input_stream_event("offset-reset", "in", 2, 7),
            "pending",
            product="slack_input_stream",
        ),
        "failed": _scan(engine, alert, "fast", "failed", last_error="deadline passed"),
        "handoff": _scan(engine, alert, "slow", "final", handoff_attempts=5, handoff_error="OSError: full"),
        "retried": _scan(engine, alert, "again", "final", handoff_attempts=1, handoff_error="e"),
    }
    with engine.begin() as conn:
        for name, value in (
            ("dead_letters_acked", ids["letter_acked"]),
            (f"acked:scan_failed:{ids['failed']}", ids["failed"]),
            (f"acked:input_stream:{ids['stream']}", ids["stream"]),
            ("told:broker", 1),
        ):
            conn.execute(insert(OpsMark).values(name=name, value=value, at=utcnow()))
    return ids


def test_the_upgrade_fills_the_record_from_the_rows_before_and_the_downgrade_gives_the_marks_back() -> None:
    with fresh_database("skymist_m") as url:
        engine = make_engine(url)
        try:
            upgrade(engine, BEFORE)
            ids = _rows_at_0009(engine)
            upgrade(engine, MINE)
            with make_sessionmaker(engine)() as session:
                entries = session.execute(select(TroubleEntry).order_by(TroubleEntry.id)).scalars().all()
                states = {(e.kind, e.source_id): e.state.value for e in entries}
                record = read_trouble(session, make_settings(url))
                marks = set(session.execute(select(OpsMark.name)).scalars())
            assert states == {
                (TroubleKind.DEAD_LETTER, ids["letter_acked"]): "acknowledged",
                (TroubleKind.DEAD_LETTER, ids["letter_open"]): "open",
                (TroubleKind.OUTBOX_DEAD, ids["dead"]): "open",
                (TroubleKind.OUTBOX_FAILING, ids["failing"]): "open",
                (TroubleKind.ARCHIVE, ids["archive"]): "open",
                (TroubleKind.INPUT_STREAM, ids["stream"]): "acknowledged",
                (TroubleKind.SCAN_FAILED, ids["failed"]): "acknowledged",
                (TroubleKind.HANDOFF_FAILED, ids["handoff"]): "open",
            }
            raw = {e.source_id: e.raw for e in entries if e.kind == TroubleKind.DEAD_LETTER}
            assert raw == {ids["letter_acked"]: b"\x00raw", ids["letter_open"]: b"\x00raw"}
            assert marks == {"dead_letters_acked", "told:broker"}  # the acked: marks are states now
            summaries = {(t.kind, t.id): (t.summary, t.detail) for t in record.items}
            assert summaries[(TroubleKind.DEAD_LETTER, ids["letter_acked"])] == (
                "in/0/1: bad JSON (field event.time)",
                "1 handling(s)",
            )
            assert summaries[(TroubleKind.OUTBOX_DEAD, ids["dead"])] == (
                "voevent Rev 0 to kafka t",
                "5 attempt(s): refused",
            )
            assert (
                summaries[(TroubleKind.INPUT_STREAM, ids["stream"])][0]
                == "input stream offset reset at in/2/7"
            )
            assert summaries[(TroubleKind.HANDOFF_FAILED, ids["handoff"])] == (
                f"scan {ids['handoff']} (slow): skymap step gave up after 5 attempt(s)",
                "OSError: full",
            )
            assert {k: record.open(k) for k in TroubleKind if record.open(k)} == {
                TroubleKind.DEAD_LETTER: 1,
                TroubleKind.OUTBOX_DEAD: 1,
                TroubleKind.OUTBOX_FAILING: 1,
                TroubleKind.ARCHIVE: 1,
                TroubleKind.HANDOFF_FAILED: 1,
            }
            assert record.dead_letters_acked == ids["letter_acked"]

            command.downgrade(alembic_config(engine), BEFORE)
            with engine.connect() as conn:
                names = set(conn.execute(select(OpsMark.__table__.c.name)).scalars())
            assert names == {
                "dead_letters_acked",
                "told:broker",
                f"acked:scan_failed:{ids['failed']}",
                f"acked:input_stream:{ids['stream']}",
            }
        finally:
            engine.dispose()
