"""The record of trouble: what went wrong and still waits for a human, read in one place.

``skymist check`` (its ``outbox``, ``dead_letters`` and ``trouble`` checks) and the console's trouble
page both call :func:`read_trouble`; nothing else knows where trouble is kept. It is kept in five
places today (a later schema merges them into one table):

==================  ===========================================================  ====================
kind                where                                                        cleared by
==================  ===========================================================  ====================
dead_letter         ``dead_letters`` rows still ``open``                         replay, discard; ack
outbox_dead         ``outbox`` rows given up (``dead``)                          retry, cancel
outbox_failing      ``outbox`` rows still tried, with a ``last_error``           (delivery; info only)
handoff_failed      ``scans.handoff_error`` of a final scan given up             retry the skymap; ack
scan_failed         ``scans`` in state ``failed``                                rescan; ack
archive             the archive's warnings (outbox rows ``shifters:archive-…``)  ack
input_stream        the ingest path's stream warnings (``slack_input_stream``)   ack
==================  ===========================================================  ====================

Acknowledging keeps the item on the record, marked, and stops it counting in ``skymist check``:
dead letters up to an id (``ops_marks.dead_letters_acked``, as ``skymist dead-letter ack`` always
did), every other item by itself (``ops_marks.acked:<kind>:<id>``). Every acknowledgement is in the
audit log with who and why.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skymist import audit
from skymist.config import Settings
from skymist.outbox import keys
from skymist.states import DeadLetterState, OutboxState, ScanState
from skymist.store.models import DeadLetter, OutboxRow
from skymist.store.ops_models import OpsMark
from skymist.store.scan_models import Scan
from skymist.store.types import utcnow

#: the highest dead-letter id acknowledged (``skymist dead-letter ack``, the console)
DEAD_LETTERS_ACKED = "dead_letters_acked"
#: the Slack product of the ingest path's stream warnings (skymist.ingest.shifters)
INPUT_STREAM_PRODUCT = "slack_input_stream"
#: at most this many items of each kind are listed (the counts are complete)
LIST_LIMIT = 200


class TroubleKind(enum.StrEnum):
    DEAD_LETTER = "dead_letter"
    OUTBOX_DEAD = "outbox_dead"
    OUTBOX_FAILING = "outbox_failing"
    HANDOFF_FAILED = "handoff_failed"
    SCAN_FAILED = "scan_failed"
    ARCHIVE = "archive"
    INPUT_STREAM = "input_stream"


#: what a shifter can acknowledge one by one (dead letters are acknowledged up to an id)
ACKNOWLEDGEABLE = frozenset(
    {TroubleKind.HANDOFF_FAILED, TroubleKind.SCAN_FAILED, TroubleKind.ARCHIVE, TroubleKind.INPUT_STREAM}
)

TITLES: dict[TroubleKind, str] = {
    TroubleKind.DEAD_LETTER: "Dead letters (input that could not be handled)",
    TroubleKind.OUTBOX_DEAD: "Products given up (dead outbox rows)",
    TroubleKind.OUTBOX_FAILING: "Products still being tried after an error",
    TroubleKind.HANDOFF_FAILED: "Failed hand-offs (final scans whose skymap step gave up)",
    TroubleKind.SCAN_FAILED: "Failed scans",
    TroubleKind.ARCHIVE: "Archive records not written",
    TroubleKind.INPUT_STREAM: "Input stream warnings",
}


class TroubleError(ValueError):
    """An action on the record that cannot be done as asked (the message names the item)."""


@dataclass(frozen=True)
class Trouble:
    """One item of the record."""

    kind: TroubleKind
    id: int  # the row's id in its own table (dead letter, outbox row, scan)
    alert_id: int | None
    at: dt.datetime
    summary: str
    detail: str = ""
    acknowledged: bool = False


@dataclass(frozen=True)
class TroubleRecord:
    items: tuple[Trouble, ...]
    #: the open (not acknowledged) items of each kind: complete, also beyond the listed ones
    open_counts: dict[TroubleKind, int] = field(default_factory=dict)
    #: dead letters acknowledged up to this id
    dead_letters_acked: int = 0

    def of(self, kind: TroubleKind) -> list[Trouble]:
        return [t for t in self.items if t.kind == kind]

    def open(self, kind: TroubleKind) -> int:
        return self.open_counts.get(kind, 0)


def _aware(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def ack_mark(kind: TroubleKind, item_id: int) -> str:
    return f"acked:{kind.value}:{item_id}"


def _acked(session: Session) -> set[str]:
    return set(session.execute(select(OpsMark.name).where(OpsMark.name.like("acked:%"))).scalars())


def archive_key_prefix() -> str:
    """The idempotency keys of the archive's warnings start so (``shifters:archive-unwritable:``)."""
    return keys.shifters_warning(keys.ARCHIVE_UNWRITABLE, 0).removesuffix("0")


def read_trouble(session: Session, settings: Settings, *, limit: int = LIST_LIMIT) -> TroubleRecord:
    """Every source of trouble, newest first within each kind."""
    items: list[Trouble] = []
    counts: Counter[TroubleKind] = Counter()
    acked = _acked(session)

    mark = session.get(OpsMark, DEAD_LETTERS_ACKED)
    floor = mark.value if mark is not None else 0
    open_letters = DeadLetter.state == DeadLetterState.OPEN
    counts[TroubleKind.DEAD_LETTER] = session.execute(
        select(func.count()).where(open_letters, DeadLetter.id > floor)
    ).scalar_one()
    letters = session.execute(
        select(
            DeadLetter.id,
            DeadLetter.source,
            DeadLetter.reason,
            DeadLetter.field,
            DeadLetter.attempts,
            DeadLetter.created_at,
        )
        .where(open_letters)
        .order_by(DeadLetter.id.desc())
        .limit(limit)
    ).all()
    for d in letters:
        where = f" (field {d.field})" if d.field else ""
        items.append(
            Trouble(
                TroubleKind.DEAD_LETTER,
                d.id,
                None,
                _aware(d.created_at),
                f"{d.source}: {d.reason}{where}",
                f"{d.attempts} handling(s)",
                acknowledged=d.id <= floor,
            )
        )

    columns = (
        OutboxRow.id,
        OutboxRow.alert_id,
        OutboxRow.revision,
        OutboxRow.product,
        OutboxRow.sink,
        OutboxRow.destination,
        OutboxRow.state,
        OutboxRow.attempts,
        OutboxRow.last_error,
        OutboxRow.created_at,
        OutboxRow.idempotency_key,
    )
    dead = OutboxRow.state == OutboxState.DEAD
    counts[TroubleKind.OUTBOX_DEAD] = session.execute(select(func.count()).where(dead)).scalar_one()
    failing = OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING)) & OutboxRow.last_error.is_not(
        None
    )
    counts[TroubleKind.OUTBOX_FAILING] = session.execute(select(func.count()).where(failing)).scalar_one()
    for kind, where_clause in ((TroubleKind.OUTBOX_DEAD, dead), (TroubleKind.OUTBOX_FAILING, failing)):
        for r in session.execute(
            select(*columns).where(where_clause).order_by(OutboxRow.id.desc()).limit(limit)
        ):
            rev = f" Rev {r.revision}" if r.revision is not None else ""
            items.append(
                Trouble(
                    kind,
                    r.id,
                    r.alert_id,
                    _aware(r.created_at),
                    f"{r.product}{rev} to {r.sink} {r.destination}",
                    f"{r.attempts} attempt(s): {r.last_error or 'no error recorded'}",
                )
            )

    handoffs = session.execute(
        select(
            Scan.id,
            Scan.alert_id,
            Scan.plan_entry,
            Scan.handoff_attempts,
            Scan.handoff_error,
            Scan.finished_at,
        )
        .where(
            Scan.state == ScanState.FINAL,
            Scan.handoff_error.is_not(None),
            Scan.handoff_attempts >= settings.handoff_max_attempts,
        )
        .order_by(Scan.id.desc())
    ).all()
    for s in handoffs:
        items.append(
            Trouble(
                TroubleKind.HANDOFF_FAILED,
                s.id,
                s.alert_id,
                _aware(s.finished_at),
                f"scan {s.id} ({s.plan_entry}): skymap step gave up after {s.handoff_attempts} attempt(s)",
                s.handoff_error or "",
                ack_mark(TroubleKind.HANDOFF_FAILED, s.id) in acked,
            )
        )
    failed = session.execute(
        select(Scan.id, Scan.alert_id, Scan.plan_entry, Scan.last_error, Scan.finished_at, Scan.updated_at)
        .where(Scan.state == ScanState.FAILED)
        .order_by(Scan.id.desc())
    ).all()
    for f in failed:
        items.append(
            Trouble(
                TroubleKind.SCAN_FAILED,
                f.id,
                f.alert_id,
                _aware(f.finished_at or f.updated_at),
                f"scan {f.id} ({f.plan_entry}) failed",
                f.last_error or "",
                ack_mark(TroubleKind.SCAN_FAILED, f.id) in acked,
            )
        )

    told = (
        OutboxRow.idempotency_key.startswith(archive_key_prefix()),
        OutboxRow.product == INPUT_STREAM_PRODUCT,
    )
    for kind, where_clause in zip((TroubleKind.ARCHIVE, TroubleKind.INPUT_STREAM), told, strict=True):
        for r in session.execute(select(*columns).where(where_clause).order_by(OutboxRow.id.desc())):
            items.append(
                Trouble(
                    kind,
                    r.id,
                    None,
                    _aware(r.created_at),
                    _told_text(r.idempotency_key),
                    f"shifters told through outbox row {r.id} ({r.state.value})",
                    ack_mark(kind, r.id) in acked,
                )
            )

    for item in items:
        if item.kind in ACKNOWLEDGEABLE and not item.acknowledged:
            counts[item.kind] += 1
    shown: dict[TroubleKind, int] = Counter()
    kept = []
    for item in items:
        shown[item.kind] += 1
        if shown[item.kind] <= limit:
            kept.append(item)
    return TroubleRecord(tuple(kept), dict(counts), floor)


def _told_text(key: str) -> str:
    if key.startswith(archive_key_prefix()):
        return "archive records could not be written (a full or read-only disk, a lost mount)"
    # input:<kind>:<topic>/<partition>/<offset>[:detail]
    parts = key.split(":")
    what = parts[1] if len(parts) > 1 else "event"
    where = parts[2] if len(parts) > 2 else ""
    return f"input stream {what.replace('-', ' ')} at {where}"


def _audit(
    session: Session,
    *,
    by: str,
    action: str,
    kind: str,
    item_id: int,
    alert_id: int | None,
    reason: str | None,
) -> None:
    audit.record(
        session,
        actor=by,
        action=action,
        subject_kind=kind,
        subject_id=item_id,
        alert_id=alert_id,
        reason=reason,
    )


def acknowledge(
    session: Session, settings: Settings, kind: TroubleKind, item_id: int, *, by: str, reason: str
) -> Trouble:
    """Acknowledge one item (audited): it stays on the record, marked, and no longer counts."""
    why = " ".join(reason.split())
    if not why:
        raise TroubleError("reason = '': an acknowledgement needs a reason (it goes into the audit log)")
    if kind not in ACKNOWLEDGEABLE:
        raise TroubleError(
            f"kind = {kind.value!r}: acknowledged one by one are {', '.join(sorted(ACKNOWLEDGEABLE))}"
        )
    found = next((t for t in read_trouble(session, settings).of(kind) if t.id == item_id), None)
    if found is None:
        raise TroubleError(f"{kind.value} {item_id}: no such item on the record of trouble")
    if found.acknowledged:
        raise TroubleError(f"{kind.value} {item_id} is already acknowledged")
    session.add(OpsMark(name=ack_mark(kind, item_id), value=item_id, at=utcnow()))
    _audit(
        session,
        by=by,
        action="trouble_acknowledged",
        kind=kind.value,
        item_id=item_id,
        alert_id=found.alert_id,
        reason=why,
    )
    return found


def acknowledge_dead_letters(
    session: Session, *, by: str, reason: str | None = None, upto: int | None = None
) -> int:
    """Acknowledge the dead letters up to ``upto`` (default: every one so far); the new floor."""
    top = session.execute(select(func.coalesce(func.max(DeadLetter.id), 0))).scalar_one()
    target = top if upto is None else min(upto, top)
    mark = session.get(OpsMark, DEAD_LETTERS_ACKED, with_for_update=True)
    if mark is None:
        mark = OpsMark(name=DEAD_LETTERS_ACKED, value=0)
        session.add(mark)
    mark.value, mark.at = max(mark.value or 0, target), utcnow()
    _audit(
        session,
        by=by,
        action="dead_letters_acknowledged",
        kind="dead_letter",
        item_id=mark.value,
        alert_id=None,
        reason=reason,
    )
    return int(mark.value)
