"""The inbox: record each message's raw bytes first, then parse and handle it in the same transaction.

A message is known by its position and its bytes (topic, partition, offset, SHA-256): the same
bytes at a known position are a redelivery; other bytes at a known position (a re-created topic,
a new cluster) are a new message, recorded, and the reuse is logged, counted and told.

A message that cannot be handled becomes a dead letter (raw bytes + reason, shifters told) and never
stops the daemon, whether it fails in its handler or only when the store refuses it at flush or
commit: a failed batch is handled again message by message, and a message the store still refuses
is dead-lettered with the database's own error. Store outages (the database is down, a connection
lost) are not the message's fault: :class:`StoreUnavailableError` is raised, nothing is
dead-lettered, and the consumer takes the same messages again after a backoff.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.ingest.errors import database_error_text, is_store_outage
from skymist.ingest.parse import InputError, kind_of, parse_message
from skymist.ingest.shifters import StreamEvent, tell_dead_letter, tell_stream_event
from skymist.message_handlers import HandlerContext, HandlerRegistry, Outcome
from skymist.states import DeadLetterState, InboxState, check_transition
from skymist.store.limits import storable_text, store_limits
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

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.value).hexdigest()


class StoreUnavailableError(RuntimeError):
    """The store could not be reached (or failed as infrastructure): nothing of the batch was kept."""


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

    def __init__(self, app: App, handlers: HandlerRegistry | None = None) -> None:
        self.app = app
        self.handlers = handlers if handlers is not None else app.message_handlers

    def ingest_batch(self, messages: Sequence[RawMessage]) -> list[IngestResult]:
        """Record and handle ``messages``; every message is recorded or dead-lettered when this returns.

        The batch is first handled in ONE transaction without a savepoint per message (fast); if a
        handler fails, it is handled again with one savepoint per message, so the failing message
        becomes a dead letter and the others are kept. If the store refuses the batch at flush or
        commit, each message is handled alone, and one the store still refuses is dead-lettered with
        the database's error. :class:`StoreUnavailableError`: the store is down; nothing was kept.
        """
        if not messages:
            return []
        try:
            try:
                results = self._ingest(messages, isolated=False)
            except _HandlerFailedError:
                results = self._ingest(messages, isolated=True)
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if is_store_outage(exc):
                raise StoreUnavailableError(database_error_text(exc)) from exc
            log.warning(
                "the store refused a batch; handling its messages one by one",
                extra={"messages": len(messages), "error": database_error_text(exc)},
            )
            results = [self._ingest_alone(message) for message in messages]
        for result in results:
            self.app.metrics.inc(f"messages_{result.status}")
        return results

    def _ingest_alone(self, message: RawMessage) -> IngestResult:
        try:
            return self._ingest([message], isolated=True)[0]
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if is_store_outage(exc):
                raise StoreUnavailableError(database_error_text(exc)) from exc
            return self._store_refused(message, exc)

    def _store_refused(self, message: RawMessage, exc: BaseException) -> IngestResult:
        """Dead-letter a message the store refuses, with the database's words (raw bytes kept)."""
        reason = f"the store refused the message: {database_error_text(exc)}"
        try:
            return self._dead_letter_alone(message, reason, tell=True)
        except Exception as again:
            if is_store_outage(again):
                raise StoreUnavailableError(database_error_text(again)) from again
            log.error(
                "could not dead-letter a refused message in full; keeping its bytes only",
                extra={"source": message.source, "error": database_error_text(again)},
            )
            return self._dead_letter_alone(message, reason, tell=False)

    def _dead_letter_alone(self, message: RawMessage, reason: str, *, tell: bool) -> IngestResult:
        with self.app.sessions() as session, session.begin():
            new = self._record(session, [message])
            ref = new.get((message.topic, message.partition, message.offset, message.sha256))
            if ref is None:  # recorded meanwhile (another daemon): find it
                row = session.execute(
                    select(InboxMessage.id, InboxMessage.state).where(
                        InboxMessage.topic == message.topic,
                        InboxMessage.partition == message.partition,
                        InboxMessage.offset == message.offset,
                        InboxMessage.content_sha256 == message.sha256,
                    )
                ).one()
                if row.state != InboxState.RECEIVED:
                    return IngestResult(message.source, "redelivered", "already in the inbox (redelivered)")
                ref = InboxRef(
                    row.id,
                    message.topic,
                    message.partition,
                    message.offset,
                    message.value,
                    InboxState.RECEIVED,
                )
            result = self._dead_letter(session, ref, reason, None, tell=tell)
            session.execute(
                update(InboxMessage),
                [{"id": ref.id, "state": ref.state, "kind": ref.kind, "detail": ref.detail}],
            )
        return result

    def _ingest(self, messages: Sequence[RawMessage], *, isolated: bool) -> list[IngestResult]:
        with self.app.sessions() as session, session.begin():
            new = self._record(session, messages)
            results: list[IngestResult] = []
            handled: list[InboxRef] = []
            for message in messages:
                ref = new.pop((message.topic, message.partition, message.offset, message.sha256), None)
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

    def _record(
        self, session: Session, messages: Sequence[RawMessage]
    ) -> dict[tuple[str, int, int, str], InboxRef]:
        """Insert the batch's inbox rows in one statement; returns the rows that were new, by
        (topic, partition, offset, sha256). New rows at positions the inbox already holds with
        other bytes are reported as reused offsets."""
        now = utcnow()
        hashes = [m.sha256 for m in messages]
        values = [
            {
                "topic": m.topic,
                "partition": m.partition,
                "offset": m.offset,
                "key": m.key,
                "raw": m.value,
                "content_sha256": sha,
                "size_bytes": len(m.value),
                "state": InboxState.RECEIVED,
                "produced_at": dt.datetime.fromtimestamp(m.timestamp_ms / 1000.0, dt.UTC)
                if m.timestamp_ms
                else None,
                "received_at": now,
            }
            for m, sha in zip(messages, hashes, strict=True)
        ]
        stmt = (
            dialect_insert(session, InboxMessage.__table__)
            .on_conflict_do_nothing(index_elements=["topic", "partition", "offset", "content_sha256"])
            .returning(
                InboxMessage.id,
                InboxMessage.topic,
                InboxMessage.partition,
                InboxMessage.offset,
                InboxMessage.content_sha256,
            )
        )
        raw_of = {
            (m.topic, m.partition, m.offset, sha): m.value for m, sha in zip(messages, hashes, strict=True)
        }
        out = {}
        for row in session.execute(stmt, values):
            key = (row.topic, row.partition, row.offset, row.content_sha256)
            out[key] = InboxRef(
                row.id, row.topic, row.partition, row.offset, raw_of[key], InboxState.RECEIVED
            )
        if out:
            self._report_reused(session, out)
        return out

    def _report_reused(self, session: Session, new: dict[tuple[str, int, int, str], InboxRef]) -> None:
        """Tell of new rows whose position the inbox already held with other bytes."""
        by_partition: dict[tuple[str, int], list[InboxRef]] = {}
        for ref in new.values():
            by_partition.setdefault((ref.topic, ref.partition), []).append(ref)
        new_ids = [ref.id for ref in new.values()]
        for (topic, partition), refs in by_partition.items():
            offsets = {ref.offset for ref in refs}
            older = session.execute(
                select(InboxMessage.offset).where(
                    InboxMessage.topic == topic,
                    InboxMessage.partition == partition,
                    InboxMessage.offset.between(min(offsets), max(offsets)),
                    InboxMessage.id.not_in(new_ids),
                )
            ).scalars()
            reused = sorted(offsets.intersection(older))
            if not reused:
                continue
            first = next(ref for ref in refs if ref.offset == reused[0])
            tell_stream_event(
                session,
                self.app,
                StreamEvent.OFFSET_REUSED,
                topic=topic,
                partition=partition,
                offset=reused[0],
                count=len(reused),
                detail=(
                    f"{len(reused)} message(s) at offsets {reused[0]}..{reused[-1]} carry other bytes than "
                    "the messages recorded there before (topic re-created or new cluster?); they are "
                    "recorded as new messages"
                ),
                key_detail=hashlib.sha256(first.raw).hexdigest()[:16],
            )

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
                outcome = self.handlers.handle(ctx, parsed)
            except Exception as exc:  # undo the batch; it is handled again message by message
                raise _HandlerFailedError(source) from exc
            return self._handled(session, inbox, outcome)
        try:
            with session.begin_nested():
                outcome = self.handlers.handle(ctx, parsed)
        except InputError as exc:
            return self._dead_letter(session, inbox, str(exc), exc.field)
        except DBAPIError as exc:
            if is_store_outage(exc):
                raise StoreUnavailableError(database_error_text(exc)) from exc
            if isinstance(exc, IntegrityError):
                reason = f"conflicts with stored data: {database_error_text(exc)}"
            else:
                reason = f"the store refused the message: {database_error_text(exc)}"
            return self._dead_letter(session, inbox, reason, None)
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

    def _dead_letter(
        self, session: Session, inbox: InboxRef, reason: str, field: str | None, *, tell: bool = True
    ) -> IngestResult:
        """Keep the message as a dead letter (its reason and field made storable) and tell shifters."""
        reason = storable_text(reason)
        field = storable_text(field, store_limits().dead_letter_field.max_chars) if field else None
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
            letter = DeadLetter(
                inbox_id=inbox.id, source=inbox.source, raw=inbox.raw, reason=reason, field=field, attempts=1
            )
            session.add(letter)
        else:
            letter = existing
            letter.reason, letter.field, letter.attempts = reason, field, existing.attempts + 1
        session.flush()
        if tell:
            tell_dead_letter(
                session,
                self.app,
                letter_id=letter.id,
                attempts=letter.attempts,
                source=inbox.source,
                reason=reason,
                field=field,
            )
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
