"""The inbox: record each message's raw bytes first, then parse and handle it in the same transaction.

A message that cannot be handled becomes a dead letter (raw bytes + reason) and never stops the
daemon. Store errors (the database is down) are not the message's fault: they propagate, the
transaction rolls back, and the consumer takes the same messages again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.ingest.parse import InputError, kind_of, parse_message
from skymist.pipeline import handlers as _handlers  # noqa: F401 - registers the handlers
from skymist.pipeline.registry import HANDLERS, HandlerContext, Outcome
from skymist.states import DeadLetterState, InboxState, check_transition
from skymist.store.models import DeadLetter, InboxMessage
from skymist.store.types import utcnow
from skymist.store.upsert import dialect_insert

log = logging.getLogger(__name__)

Status = Literal["processed", "duplicate", "dead_letter", "redelivered"]


@dataclass(frozen=True)
class RawMessage:
    """A message as taken from Kafka (or a file: topic ``file:<sha256>``, partition 0, offset 0)."""

    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    timestamp_ms: int | None = None

    @property
    def source(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: Status
    summary: str
    inbox_id: int | None = None
    alert_id: int | None = None
    outbox_rows: int = 0


class _HandlerFailedError(Exception):
    """A handler failed in a batch handled without savepoints: handle it again, isolated."""


@dataclass
class InboxRef:
    """An inbox row being handled, without going through the ORM (its raw bytes are large)."""

    id: int
    topic: str
    partition: int
    offset: int
    raw: bytes
    state: InboxState
    kind: str | None = None
    detail: str | None = None
    replay: bool = False  # handled again from the store (dead-letter replay): it may have open dead letters

    @property
    def source(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


class Ingestor:
    """Records and handles messages. One instance per daemon; thread-confined."""

    def __init__(self, app: App) -> None:
        self.app = app

    def ingest_batch(self, messages: Sequence[RawMessage]) -> list[IngestResult]:
        """Record and handle ``messages`` in ONE transaction (committed when this returns).

        The batch is first handled without a savepoint per message (fast); if a handler fails, the
        transaction is rolled back and the batch handled again with one savepoint per message, so
        the failing message becomes a dead letter and the others are kept.
        """
        if not messages:
            return []
        try:
            results = self._ingest(messages, isolated=False)
        except _HandlerFailedError:
            results = self._ingest(messages, isolated=True)
        for result in results:
            self.app.metrics.inc(f"messages_{result.status}")
        return results

    def _ingest(self, messages: Sequence[RawMessage], *, isolated: bool) -> list[IngestResult]:
        with self.app.sessions() as session, session.begin():
            new = self._record(session, messages)
            results: list[IngestResult] = []
            handled: list[InboxRef] = []
            for message in messages:
                ref = new.get((message.topic, message.partition, message.offset))
                if ref is None:
                    results.append(
                        IngestResult(message.source, "redelivered", "already in the inbox (redelivered)")
                    )
                    continue
                results.append(self.process(session, ref, isolated=isolated))
                handled.append(ref)
            if handled:
                session.execute(
                    update(InboxMessage),
                    [{"id": r.id, "state": r.state, "kind": r.kind, "detail": r.detail} for r in handled],
                )
        return results

    @staticmethod
    def _record(session: Session, messages: Sequence[RawMessage]) -> dict[tuple[str, int, int], InboxRef]:
        """Insert the batch's inbox rows in one statement; returns the rows that were new."""
        now = utcnow()
        values = [
            {
                "topic": m.topic,
                "partition": m.partition,
                "offset": m.offset,
                "key": m.key,
                "raw": m.value,
                "size_bytes": len(m.value),
                "state": InboxState.RECEIVED,
                "produced_at": dt.datetime.fromtimestamp(m.timestamp_ms / 1000.0, dt.UTC)
                if m.timestamp_ms
                else None,
                "received_at": now,
            }
            for m in messages
        ]
        stmt = (
            dialect_insert(session, InboxMessage.__table__)
            .on_conflict_do_nothing(index_elements=["topic", "partition", "offset"])
            .returning(InboxMessage.id, InboxMessage.topic, InboxMessage.partition, InboxMessage.offset)
        )
        raw_of = {(m.topic, m.partition, m.offset): m.value for m in messages}
        out = {}
        for row in session.execute(stmt, values):
            key = (row.topic, row.partition, row.offset)
            out[key] = InboxRef(
                row.id, row.topic, row.partition, row.offset, raw_of[key], InboxState.RECEIVED
            )
        return out

    def process(self, session: Session, inbox: InboxRef, *, isolated: bool = True) -> IngestResult:
        """Parse and handle one inbox row; sets its state, kind and detail (the caller stores them)."""
        source = inbox.source
        settings = self.app.settings
        try:
            parsed = parse_message(
                inbox.raw,
                supported_versions=settings.supported_event_versions,
                max_bytes=settings.kafka_max_message_bytes,
            )
        except InputError as exc:
            inbox.kind = exc.kind
            return self._dead_letter(session, inbox, str(exc), exc.field)
        inbox.kind = kind_of(parsed)
        ctx = HandlerContext(
            session=session, settings=settings, renderer=self.app.renderer, now=utcnow(), inbox_id=inbox.id
        )
        if not isolated:
            try:
                outcome = HANDLERS.handle(ctx, parsed)
            except Exception as exc:  # undo the batch; it is handled again message by message
                raise _HandlerFailedError(source) from exc
            return self._handled(session, inbox, outcome)
        try:
            with session.begin_nested():
                outcome = HANDLERS.handle(ctx, parsed)
        except InputError as exc:
            return self._dead_letter(session, inbox, str(exc), exc.field)
        except DBAPIError as exc:
            if isinstance(exc, IntegrityError):
                return self._dead_letter(session, inbox, f"conflicts with stored data: {exc.orig}", None)
            raise
        except Exception as exc:  # a bug must not stop the daemon: keep the message and say why
            log.exception("handler failed", extra={"source": source})
            reason = f"internal error while handling the message ({type(exc).__name__}: {str(exc)[:300]})"
            return self._dead_letter(session, inbox, reason, None)
        return self._handled(session, inbox, outcome)

    def _handled(self, session: Session, inbox: InboxRef, outcome: Outcome) -> IngestResult:
        new_state = InboxState.DUPLICATE if outcome.status == "duplicate" else InboxState.PROCESSED
        inbox.state = check_transition(inbox.state, new_state)
        inbox.detail = outcome.summary
        if inbox.replay:
            self._resolve_dead_letters(session, inbox)
        return IngestResult(
            inbox.source,
            "duplicate" if outcome.status == "duplicate" else "processed",
            outcome.summary,
            inbox.id,
            outcome.alert_id,
            outcome.outbox_rows,
        )

    def replay_stored(self, session: Session, inbox_id: int) -> IngestResult:
        """Handle a stored inbox row again (dead-letter replay) and store its new state."""
        row = session.get(InboxMessage, inbox_id, with_for_update=True)
        if row is None:
            raise LookupError(f"no inbox message with id {inbox_id}")
        ref = InboxRef(
            row.id, row.topic, row.partition, row.offset, row.raw, row.state, row.kind, row.detail, True
        )
        result = self.process(session, ref)
        row.state, row.kind, row.detail = ref.state, ref.kind, ref.detail
        return result

    def _dead_letter(self, session: Session, inbox: InboxRef, reason: str, field: str | None) -> IngestResult:
        inbox.state = check_transition(inbox.state, InboxState.DEAD_LETTER)
        inbox.detail = reason
        existing = (
            session.execute(
                select(DeadLetter).where(
                    DeadLetter.inbox_id == inbox.id, DeadLetter.state == DeadLetterState.OPEN
                )
            ).scalar_one_or_none()
            if inbox.replay
            else None
        )
        if existing is None:
            session.add(
                DeadLetter(inbox_id=inbox.id, source=inbox.source, raw=inbox.raw, reason=reason, field=field)
            )
        else:
            existing.reason, existing.field, existing.attempts = reason, field, existing.attempts + 1
        log.warning("dead letter", extra={"source": inbox.source, "reason": reason})
        return IngestResult(inbox.source, "dead_letter", reason, inbox.id)

    @staticmethod
    def _resolve_dead_letters(session: Session, inbox: InboxRef) -> None:
        for letter in session.execute(
            select(DeadLetter).where(
                DeadLetter.inbox_id == inbox.id, DeadLetter.state == DeadLetterState.OPEN
            )
        ).scalars():
            letter.state = check_transition(letter.state, DeadLetterState.REPLAYED)
