"""The record of trouble: what went wrong and still waits for a human, read in one place.

``skymist check`` (its ``outbox``, ``dead_letters`` and ``trouble`` checks), the console's trouble
page and the shifters' warnings in Slack all come from one table, ``trouble``
(:class:`~skymist.store.trouble_models.TroubleEntry`): one row per incident, with its kind, subject
(what it is about), summary, reason, raw input where there is some (dead letters) and state
(``open``, ``acknowledged``, ``resolved``: :class:`~skymist.states.TroubleState`).
:mod:`skymist.trouble_record` writes it in the transaction that causes the trouble (every session
of the application watches the rows below), so the record and its cause never disagree;
:func:`read_trouble` reads nothing else.

==================  ===========================================================  ====================
kind                seen on                                                      resolved by
==================  ===========================================================  ====================
dead_letter         ``dead_letters`` rows still ``open``                         replay, discard
outbox_dead         ``outbox`` rows given up (``dead``)                          retry, cancel
outbox_failing      ``outbox`` rows still tried, with a ``last_error``           (delivery; info only)
handoff_failed      ``scans.handoff_error`` of a final scan given up             retry the skymap
scan_failed         ``scans`` in state ``failed``                                (stays; rescan)
archive             the archive's warnings (outbox rows ``shifters:archive-…``)  (stays)
input_stream        the ingest path's stream warnings (``slack_input_stream``)   (stays)
==================  ===========================================================  ====================

Resolved items leave the record's lists; an item given up again after that is open again.
Acknowledging keeps the item listed, marked, and stops it counting in ``skymist check``: dead letters
up to an id (``skymist dead-letter ack``; the floor is ``ops_marks.dead_letters_acked``), failed
hand-offs, failed scans, archive and input-stream warnings one by one. Every acknowledgement is in the
audit log with who and why, and on the item (``acked_by``, ``ack_reason``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skymist import audit
from skymist.config import Settings
from skymist.states import TroubleState, check_transition
from skymist.store.models import DeadLetter
from skymist.store.ops_models import OpsMark
from skymist.store.trouble_models import TroubleEntry, TroubleKind
from skymist.store.types import utcnow
from skymist.trouble_record import ARCHIVE_KEY_PREFIX, INPUT_STREAM_PRODUCT

__all__ = [
    "ACKNOWLEDGEABLE",
    "DEAD_LETTERS_ACKED",
    "INPUT_STREAM_PRODUCT",
    "LIST_LIMIT",
    "TITLES",
    "Trouble",
    "TroubleError",
    "TroubleKind",
    "TroubleRecord",
    "acknowledge",
    "acknowledge_dead_letters",
    "archive_key_prefix",
    "read_trouble",
]

#: the highest dead-letter id acknowledged (``skymist dead-letter ack``, the console)
DEAD_LETTERS_ACKED = "dead_letters_acked"
#: at most this many items of each kind are listed (the counts are complete)
LIST_LIMIT = 200

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


def archive_key_prefix() -> str:
    """The idempotency keys of the archive's warnings start so (``shifters:archive-unwritable:``)."""
    return ARCHIVE_KEY_PREFIX


def _item(entry: TroubleEntry) -> Trouble:
    return Trouble(
        entry.kind,
        entry.source_id,
        entry.alert_id,
        _aware(entry.occurred_at),
        entry.summary,
        entry.reason,
        entry.state == TroubleState.ACKNOWLEDGED,
    )


def read_trouble(session: Session, settings: Settings, *, limit: int = LIST_LIMIT) -> TroubleRecord:
    """The record: the items not resolved, newest first within each kind (at most ``limit`` of each),
    and the open ones of each kind counted. ``settings`` is the caller's (the record needs none)."""
    del settings
    counts = {
        TroubleKind(kind): int(n)
        for kind, n in session.execute(
            select(TroubleEntry.kind, func.count())
            .where(TroubleEntry.state == TroubleState.OPEN)
            .group_by(TroubleEntry.kind)
        )
    }
    items: list[Trouble] = []
    if limit > 0:
        for kind in TroubleKind:
            entries = session.execute(
                select(TroubleEntry)
                .where(TroubleEntry.kind == kind, TroubleEntry.state != TroubleState.RESOLVED)
                .order_by(TroubleEntry.source_id.desc())
                .limit(limit)
            ).scalars()
            items.extend(_item(e) for e in entries)
    mark = session.get(OpsMark, DEAD_LETTERS_ACKED)
    return TroubleRecord(tuple(items), counts, mark.value if mark is not None else 0)


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
    del settings
    why = " ".join(reason.split())
    if not why:
        raise TroubleError("reason = '': an acknowledgement needs a reason (it goes into the audit log)")
    if kind not in ACKNOWLEDGEABLE:
        raise TroubleError(
            f"kind = {kind.value!r}: acknowledged one by one are {', '.join(sorted(ACKNOWLEDGEABLE))}"
        )
    entry = session.execute(
        select(TroubleEntry)
        .where(
            TroubleEntry.kind == kind,
            TroubleEntry.source_id == item_id,
            TroubleEntry.state != TroubleState.RESOLVED,
        )
        .with_for_update()
    ).scalar_one_or_none()
    if entry is None:
        raise TroubleError(f"{kind.value} {item_id}: no such item on the record of trouble")
    if entry.state == TroubleState.ACKNOWLEDGED:
        raise TroubleError(f"{kind.value} {item_id} is already acknowledged")
    found = _item(entry)
    entry.state = check_transition(entry.state, TroubleState.ACKNOWLEDGED)
    entry.acked_by, entry.ack_reason, entry.updated_at = by, why, utcnow()
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
    for entry in session.execute(
        select(TroubleEntry)
        .where(
            TroubleEntry.kind == TroubleKind.DEAD_LETTER,
            TroubleEntry.state == TroubleState.OPEN,
            TroubleEntry.source_id <= mark.value,
        )
        .with_for_update()
    ).scalars():
        entry.state = check_transition(entry.state, TroubleState.ACKNOWLEDGED)
        entry.acked_by, entry.ack_reason, entry.updated_at = by, reason, mark.at
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
