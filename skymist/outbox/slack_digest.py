"""Operational Slack messages folded into one digest per window and kind.

Dead letters, rows the outbox gave up and input-stream trouble each queue one Slack row with its
exact bytes (the record of what happened). The Slack dispatcher does not post those one by one: in
its claim transaction it calls :func:`fold`, which for each kind

* when nothing of the kind was told in the current window (``slack_digest_window_s``, windows aligned
  to the epoch): folds every waiting row of the kind into one digest row keyed
  ``digest:<kind>:<window start>`` and due at once. A single row is posted verbatim (the first dead
  letter of a quiet period is told promptly, as before); several become one message with their
  count, time span, top reasons and where to look. The folded rows become ``cancelled`` with the
  digest's key as the reason. The unique idempotency key makes the digest the window's only message
  of the kind, however many daemons fold at the same time (the loser's rows wait).
* otherwise: holds the new rows (not due, not counted by the outbox age check) for the next window's
  digest.

So a flood of bad input costs the shifters at most one message per window and kind, and the alert
class (:mod:`skymist.outbox.slack_classes`) never waits behind it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from skymist.config import Settings
from skymist.outbox import keys
from skymist.outbox.queue import HELD_UNTIL, SINK_SLACK, OutboxSpec
from skymist.outbox.slack_classes import DIGEST_PRODUCT
from skymist.rendering import Renderer
from skymist.states import OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.upsert import dialect_insert

TEMPLATE = "slack/digest.json.j2"
#: ``last_error`` of a row held for the next window's digest
HOLD_NOTE = "waiting for the next Slack digest of its kind (one message per slack_digest_window_s)"
#: rows whose text is read for the top reasons of a large digest (spread evenly over it)
REASON_SAMPLE = 1000
TOP_REASONS = 5
#: rows changed per statement (PostgreSQL takes at most 65,535 parameters in one)
CHUNK = 5000
#: where the console shows them (it has no dead-letter page: its health page runs ``skymist check``)
CONSOLE_PAGE = "/health"


@dataclass(frozen=True)
class DigestKind:
    """One kind of operational message: its rows' ``product``, its name in keys, how it is told."""

    name: str
    product: str
    plural: str
    #: a row's reason: its message ``text`` matched by ``pattern`` (``re.fullmatch``) and expanded
    #: with ``reason`` (``\1``...), leaving out what differs between rows of one cause (the offset)
    pattern: str
    reason: str
    command: str


KINDS: tuple[DigestKind, ...] = (
    DigestKind(  # templates/slack/dead_letter.json.j2: "...: <topic>/<partition>/<offset>: <reason>"
        "dead_letters",
        "slack_dead_letter",
        "dead letters",
        r"Input message dead-lettered: ([^/]*)/\d+/\d+: (.*)",
        r"\1: \2",
        "skymist dead-letter list",
    ),
    DigestKind(  # templates/slack/outbox_dead.json.j2
        "outbox_dead",
        "slack_outbox_dead",
        "outbox rows given up",
        r"SkyMist gave up sending (.*) for .* after \d+ attempts",
        r"gave up sending \1",
        "skymist outbox list --state dead",
    ),
    DigestKind(  # templates/slack/input_stream.json.j2
        "input_stream",
        "slack_input_stream",
        "input-stream warnings",
        r"Input stream: (.*)",
        r"\1",
        "skymist check",
    ),
)


#: the products told only through digests (a pending row of these is never claimed as it is)
DIGESTED_PRODUCTS = frozenset(kind.product for kind in KINDS)


@dataclass(frozen=True)
class Folded:
    """What one :func:`fold` did: digests queued, rows folded into them, rows held for later."""

    digests: int = 0
    rows: int = 0
    held: int = 0


def window_start(now: dt.datetime, window_s: int) -> dt.datetime:
    """The start of the window holding ``now`` (windows of ``window_s`` aligned to the epoch)."""
    start = int(now.timestamp()) // window_s * window_s
    return dt.datetime.fromtimestamp(start, dt.UTC)


def digest_key(kind: DigestKind, start: dt.datetime) -> str:
    return keys.slack_digest(kind.name, start.strftime("%Y%m%dT%H%M%SZ"))


def fold(session: Session, settings: Settings, renderer: Renderer, now: dt.datetime) -> Folded:
    """Fold or hold the waiting operational rows of every kind (in the caller's transaction)."""
    start = window_start(now, settings.slack_digest_window_s)
    total = Folded()
    for kind in KINDS:
        done = _fold_kind(session, settings, renderer, kind, digest_key(kind, start), now)
        total = Folded(total.digests + done.digests, total.rows + done.rows, total.held + done.held)
    return total


def _waiting(kind: DigestKind) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxRow.sink == SINK_SLACK,
        OutboxRow.product == kind.product,
        OutboxRow.state == OutboxState.PENDING,
    )


def _fold_kind(
    session: Session, settings: Settings, renderer: Renderer, kind: DigestKind, key: str, now: dt.datetime
) -> Folded:
    taken = session.execute(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)).first()
    if taken is not None:
        return Folded(held=_hold(session, kind, now))
    rows = session.execute(
        select(OutboxRow.id, OutboxRow.created_at, OutboxRow.alert_id, OutboxRow.revision)
        .where(
            *_waiting(kind), or_(OutboxRow.next_attempt_at <= now, OutboxRow.next_attempt_at == HELD_UNTIL)
        )
        .order_by(OutboxRow.id)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return Folded()
    ids = [int(row.id) for row in rows]
    if len(rows) == 1:
        payload = session.execute(select(OutboxRow.payload).where(OutboxRow.id == ids[0])).scalar_one()
        alert_id, revision = rows[0].alert_id, rows[0].revision
    else:
        payload = _render(session, settings, renderer, kind, ids, rows[0].created_at, rows[-1].created_at)
        alert_id = revision = None
    spec = OutboxSpec(
        sink=SINK_SLACK,
        destination=settings.slack_channel or "shifters",
        product=DIGEST_PRODUCT,
        idempotency_key=key,
        payload=payload,
        content_type="application/json",
        alert_id=alert_id,
        revision=revision,
    )
    inserted = session.execute(
        dialect_insert(session, OutboxRow.__table__)
        .values(**spec.values(now))
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxRow.id)
    ).first()
    if inserted is None:  # another daemon told this window's digest first: ours wait for the next
        return Folded(held=_set_held(session, ids))
    cancelled = check_transition(OutboxState.PENDING, OutboxState.CANCELLED)
    for chunk in _chunks(ids):
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(chunk))
            .values(state=cancelled, last_error=f"told in the Slack digest {key}", lease_until=None)
        )
    return Folded(digests=1, rows=len(ids))


def _hold(session: Session, kind: DigestKind, now: dt.datetime) -> int:
    """Hold the kind's rows that became due in a window already told."""
    ids = list(
        session.execute(
            select(OutboxRow.id)
            .where(*_waiting(kind), OutboxRow.next_attempt_at <= now)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    return _set_held(session, ids)


def _set_held(session: Session, ids: Sequence[int]) -> int:
    for chunk in _chunks(ids):
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(chunk), OutboxRow.next_attempt_at < HELD_UNTIL)
            .values(next_attempt_at=HELD_UNTIL, last_error=HOLD_NOTE)
        )
    return len(ids)


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _reason(kind: DigestKind, payload: bytes) -> str:
    try:
        text = str(json.loads(payload).get("text", ""))
    except (ValueError, AttributeError):
        return "(a message that is not Slack JSON)"
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")  # escaped again when told
    found = re.fullmatch(kind.pattern, text, re.DOTALL)
    return (found.expand(kind.reason) if found else text)[:300]


def _render(
    session: Session,
    settings: Settings,
    renderer: Renderer,
    kind: DigestKind,
    ids: Sequence[int],
    first: dt.datetime,
    last: dt.datetime,
) -> bytes:
    step = max(1, -(-len(ids) // REASON_SAMPLE))  # ceil: at most REASON_SAMPLE rows are read
    sample = list(ids[::step])
    reasons: Counter[str] = Counter()
    for chunk in _chunks(sample):
        for payload in session.execute(select(OutboxRow.payload).where(OutboxRow.id.in_(chunk))).scalars():
            reasons[_reason(kind, payload)] += 1
    base = settings.console_base_url
    return renderer.render_json(
        TEMPLATE,
        {
            "count": f"{len(ids):,}",
            "plural": kind.plural,
            "first": first.strftime("%Y-%m-%d %H:%M:%S"),
            "last": last.strftime("%Y-%m-%d %H:%M:%S"),
            "reasons": [(f"{n:,}", reason) for n, reason in _top(reasons)],
            "sampled": f"{len(sample):,}" if len(sample) < len(ids) else None,
            "command": kind.command,
            "window_min": f"{settings.slack_digest_window_s / 60:g}",
            "console_url": f"{base.rstrip('/')}{CONSOLE_PAGE}" if base else None,
        },
    )


def _top(reasons: Counter[str]) -> list[tuple[int, str]]:
    return [(n, reason) for reason, n in reasons.most_common(TOP_REASONS)]
