"""Writes the record of trouble (the ``trouble`` table) in the transaction that causes the trouble.

Trouble is seen on three tables: a dead letter (``dead_letters``), an outbox row given up or failing,
or one that tells the shifters of an archive or input-stream warning (``outbox``), a failed scan or a
given-up hand-off (``scans``). Every session of the application watches its writes to them
(:func:`watch`): the rows of its ORM flushes, of its bulk UPDATE and DELETE statements (their ids are
read first) and of its outbox inserts (by idempotency key). Before the transaction commits, those
rows are classified again (:func:`incidents_of`) and the record follows (:func:`record`):

* a new incident is inserted ``open``;
* one whose cause is gone (replayed, discarded, retried, cancelled, sent) is ``resolved``;
* one that comes back after that (given up again) is ``open`` again; an acknowledged one stays so.

So no writer can forget it and a rolled back transaction leaves no trace. Migration
``0010_trouble_record`` fills the record from the rows that were there before, with the same
classification.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Insert, Table, case, event, select
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from skymist.outbox import keys
from skymist.states import DeadLetterState, OutboxState, ScanState, TroubleState
from skymist.store.models import DeadLetter, OutboxRow
from skymist.store.scan_models import Scan
from skymist.store.trouble_models import TroubleEntry, TroubleKind
from skymist.store.types import utcnow
from skymist.store.upsert import dialect_insert

#: the Slack product of the ingest path's stream warnings (skymist.ingest.shifters)
INPUT_STREAM_PRODUCT = "slack_input_stream"
#: the idempotency keys of the archive's warnings start so (``shifters:archive-unwritable:``)
ARCHIVE_KEY_PREFIX = keys.shifters_warning(keys.ARCHIVE_UNWRITABLE, 0).removesuffix("0")
#: rows classified per statement
CHUNK = 500

DEAD_LETTERS, OUTBOX, SCANS = "dead_letters", "outbox", "scans"

#: the columns each classification reads, per source table
COLUMNS: dict[str, tuple[str, ...]] = {
    DEAD_LETTERS: ("id", "source", "raw", "reason", "field", "state", "attempts", "created_at"),
    OUTBOX: (
        "id",
        "alert_id",
        "revision",
        "product",
        "sink",
        "destination",
        "idempotency_key",
        "state",
        "attempts",
        "last_error",
        "created_at",
    ),
    SCANS: (
        "id",
        "alert_id",
        "plan_entry",
        "state",
        "last_error",
        "handoff_attempts",
        "handoff_error",
        "finished_at",
        "updated_at",
    ),
}


@dataclass(frozen=True)
class Incident:
    """One item of trouble seen on one source row."""

    kind: TroubleKind
    source_table: str
    source_id: int
    alert_id: int | None
    subject: str
    summary: str
    reason: str
    occurred_at: dt.datetime | None
    raw: bytes | None = None


def dead_letter_incidents(row: Any) -> list[Incident]:
    """An open dead letter (``row``: the ``dead_letters`` columns of :data:`COLUMNS`)."""
    if row.state != DeadLetterState.OPEN:
        return []
    where = f" (field {row.field})" if row.field else ""
    return [
        Incident(
            TroubleKind.DEAD_LETTER,
            DEAD_LETTERS,
            row.id,
            None,
            row.source,
            f"{row.source}: {row.reason}{where}",
            f"{row.attempts} handling(s)",
            row.created_at,
            row.raw,
        )
    ]


def told_text(key: str) -> str:
    """What a shifters' warning row (archive, input stream) is about, from its idempotency key."""
    if key.startswith(ARCHIVE_KEY_PREFIX):
        return "archive records could not be written (a full or read-only disk, a lost mount)"
    # input:<kind>:<topic>/<partition>/<offset>[:detail]
    parts = key.split(":")
    what = parts[1] if len(parts) > 1 else "event"
    where = parts[2] if len(parts) > 2 else ""
    return f"input stream {what.replace('-', ' ')} at {where}"


def outbox_incidents(row: Any) -> list[Incident]:
    """A product given up or still tried after an error, and a shifters' archive or stream warning."""
    found = []
    state = OutboxState(row.state)
    failing = state in (OutboxState.PENDING, OutboxState.SENDING) and row.last_error is not None
    if state == OutboxState.DEAD or failing:
        rev = f" Rev {row.revision}" if row.revision is not None else ""
        found.append(
            Incident(
                TroubleKind.OUTBOX_DEAD if state == OutboxState.DEAD else TroubleKind.OUTBOX_FAILING,
                OUTBOX,
                row.id,
                row.alert_id,
                row.idempotency_key,
                f"{row.product}{rev} to {row.sink} {row.destination}",
                f"{row.attempts} attempt(s): {row.last_error or 'no error recorded'}",
                row.created_at,
            )
        )
    told = None
    if row.idempotency_key.startswith(ARCHIVE_KEY_PREFIX):
        told = TroubleKind.ARCHIVE
    elif row.product == INPUT_STREAM_PRODUCT:
        told = TroubleKind.INPUT_STREAM
    if told is not None:
        found.append(
            Incident(
                told,
                OUTBOX,
                row.id,
                None,
                row.idempotency_key,
                told_text(row.idempotency_key),
                f"shifters told through outbox row {row.id} ({state.value})",
                row.created_at,
            )
        )
    return found


def scan_incidents(row: Any, handoff_max_attempts: int) -> list[Incident]:
    """A failed scan, or a final one whose skymap step gave up after ``handoff_max_attempts``."""
    state = ScanState(row.state)
    if state == ScanState.FAILED:
        return [
            Incident(
                TroubleKind.SCAN_FAILED,
                SCANS,
                row.id,
                row.alert_id,
                f"scan {row.id} ({row.plan_entry})",
                f"scan {row.id} ({row.plan_entry}) failed",
                row.last_error or "",
                row.finished_at or row.updated_at,
            )
        ]
    if (
        state == ScanState.FINAL
        and row.handoff_error is not None
        and row.handoff_attempts >= handoff_max_attempts
    ):
        return [
            Incident(
                TroubleKind.HANDOFF_FAILED,
                SCANS,
                row.id,
                row.alert_id,
                f"scan {row.id} ({row.plan_entry})",
                f"scan {row.id} ({row.plan_entry}): skymap step gave up after "
                f"{row.handoff_attempts} attempt(s)",
                row.handoff_error or "",
                row.finished_at,
            )
        ]
    return []


def incidents_of(table: str, row: Any, handoff_max_attempts: int) -> list[Incident]:
    """The incidents one row of a source table shows now (none: no trouble)."""
    if table == DEAD_LETTERS:
        return dead_letter_incidents(row)
    if table == OUTBOX:
        return outbox_incidents(row)
    return scan_incidents(row, handoff_max_attempts)


def _values(incident: Incident, now: dt.datetime) -> dict[str, Any]:
    return {
        "kind": incident.kind,
        "source_table": incident.source_table,
        "source_id": incident.source_id,
        "alert_id": incident.alert_id,
        "subject": incident.subject[:300],
        "summary": incident.summary,
        "reason": incident.reason,
        "raw": incident.raw,
        "occurred_at": incident.occurred_at,
        "state": TroubleState.OPEN,
        "created_at": now,
        "updated_at": now,
    }


def record(session: Session, table: str, ids: Iterable[int], incidents: Iterable[Incident]) -> None:
    """Make the record of these source rows (``ids`` of ``table``) say what ``incidents`` say: new ones
    open, gone ones resolved, returning ones open again (in the caller's transaction)."""
    ids = sorted(set(ids))
    entries = cast(Table, TroubleEntry.__table__)
    now = utcnow()
    existing = {
        (TroubleKind(kind), source_id): TroubleState(state)
        for kind, source_id, state in session.execute(
            select(TroubleEntry.kind, TroubleEntry.source_id, TroubleEntry.state).where(
                TroubleEntry.source_table == table, TroubleEntry.source_id.in_(ids)
            )
        )
    }
    seen = set()
    reopened = case(
        (entries.c.state == TroubleState.RESOLVED.value, TroubleState.OPEN.value), else_=entries.c.state
    )
    for incident in incidents:
        seen.add((incident.kind, incident.source_id))
        stmt = dialect_insert(session, entries).values(_values(incident, now))
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["source_table", "source_id", "kind"],
                set_={
                    "alert_id": stmt.excluded.alert_id,
                    "subject": stmt.excluded.subject,
                    "summary": stmt.excluded.summary,
                    "reason": stmt.excluded.reason,
                    "raw": stmt.excluded.raw,
                    "occurred_at": stmt.excluded.occurred_at,
                    "state": reopened,
                    "updated_at": now,
                },
            )
        )
    gone = [key for key, state in existing.items() if key not in seen and state != TroubleState.RESOLVED]
    for kind, source_id in gone:
        session.execute(
            entries.update()
            .where(
                entries.c.kind == kind.value,
                entries.c.source_table == table,
                entries.c.source_id == source_id,
            )
            .values(state=TroubleState.RESOLVED.value, updated_at=now)
        )


_MODELS: dict[str, Any] = {DEAD_LETTERS: DeadLetter, OUTBOX: OutboxRow, SCANS: Scan}


def sync(session: Session, table: str, ids: Iterable[int], handoff_max_attempts: int) -> None:
    """Classify these rows of ``table`` again and record what they show."""
    model = _MODELS[table]
    todo = sorted(set(ids))
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        columns = [getattr(model, name) for name in COLUMNS[table]]
        rows = session.execute(select(*columns).where(model.id.in_(chunk))).all()
        found = [i for row in rows for i in incidents_of(table, row, handoff_max_attempts)]
        record(session, table, chunk, found)


@dataclass
class _Pending:
    """The source rows this transaction wrote, to classify before it commits."""

    ids: dict[str, set[int]] = field(default_factory=lambda: {name: set() for name in _MODELS})
    outbox_keys: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.outbox_keys) or any(self.ids.values())


_INFO_KEY = "trouble_pending"


def _pending(session: Session) -> _Pending:
    found = session.info.get(_INFO_KEY)
    if not isinstance(found, _Pending):
        found = session.info[_INFO_KEY] = _Pending()
    return found


def _inserted_keys(state: ORMExecuteState) -> list[str]:
    """The idempotency keys of the outbox rows an INSERT adds: in its parameters or its VALUES."""
    params = state.parameters
    rows: list[Mapping[str, Any]] = [params] if isinstance(params, Mapping) else list(params or [])
    statement = cast(Insert, state.statement)
    rows.append(statement.compile(dialect=state.session.get_bind().dialect).params)
    return [str(v) for row in rows for k, v in row.items() if k.startswith("idempotency_key") and v]


@dataclass(frozen=True)
class TroubleWatch:
    """The session events that keep the record (:func:`watch` installs them)."""

    handoff_max_attempts: int

    def after_flush(self, session: Session, _context: Any) -> None:
        pending = _pending(session)
        for obj in (*session.new, *session.dirty, *session.deleted):
            name = getattr(obj, "__tablename__", None)
            if name in pending.ids and obj.id is not None:
                pending.ids[name].add(int(obj.id))

    def do_orm_execute(self, state: ORMExecuteState) -> None:
        if not (state.is_update or state.is_delete or state.is_insert):
            return
        table = getattr(state.statement, "table", None)
        if not isinstance(table, Table) or table.name not in _MODELS:
            return
        name, pending = table.name, _pending(state.session)
        if state.is_insert:
            if name == OUTBOX:  # a new dead letter or scan is added as an object (planned scans: no trouble)
                pending.outbox_keys.update(_inserted_keys(state))
            return
        where = state.statement.whereclause  # type: ignore[attr-defined]
        chosen = select(table.c.id) if where is None else select(table.c.id).where(where)
        pending.ids[name].update(int(i) for i in state.session.execute(chosen).scalars())

    def before_commit(self, session: Session) -> None:
        session.flush()
        pending = session.info.pop(_INFO_KEY, None)
        if not isinstance(pending, _Pending) or not pending:
            return
        if pending.outbox_keys:
            found = session.execute(
                select(OutboxRow.id).where(OutboxRow.idempotency_key.in_(sorted(pending.outbox_keys)))
            ).scalars()
            pending.ids[OUTBOX].update(found)
        for name, ids in pending.ids.items():
            if ids:
                sync(session, name, ids, self.handoff_max_attempts)

    def after_rollback(self, session: Session) -> None:
        session.info.pop(_INFO_KEY, None)


def watch(sessions: sessionmaker[Session], handoff_max_attempts: int) -> None:
    """Keep the record of trouble in every transaction of these sessions."""
    watcher = TroubleWatch(handoff_max_attempts)
    hooks: dict[str, Callable[..., None]] = {
        "after_flush": watcher.after_flush,
        "do_orm_execute": watcher.do_orm_execute,
        "before_commit": watcher.before_commit,
        "after_rollback": watcher.after_rollback,
    }
    for name, hook in hooks.items():
        event.listen(sessions, name, hook)
