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

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.ingest.parse import InputError, kind_of, parse_message
from skymist.pipeline import handlers as _handlers  # noqa: F401 - registers the handlers
from skymist.pipeline.registry import HANDLERS, HandlerContext
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


class Ingestor:
    """Records and handles messages. One instance per daemon; thread-confined."""

    def __init__(self, app: App) -> None:
        self.app = app

    def ingest_batch(self, messages: Sequence[RawMessage]) -> list[IngestResult]:
        """Record and handle ``messages`` in ONE transaction (committed when this returns)."""
        results: list[IngestResult] = []
        with self.app.sessions() as session, session.begin():
            for message in messages:
                results.append(self._ingest_one(session, message))
        for result in results:
            self.app.metrics.inc(f"messages_{result.status}")
        return results

    def _ingest_one(self, session: Session, message: RawMessage) -> IngestResult:
        produced_at = (
            dt.datetime.fromtimestamp(message.timestamp_ms / 1000.0, dt.UTC) if message.timestamp_ms else None
        )
        stmt = (
            dialect_insert(session, InboxMessage)
            .values(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                raw=message.value,
                size_bytes=len(message.value),
                state=InboxState.RECEIVED,
                produced_at=produced_at,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["topic", "partition", "offset"])
            .returning(InboxMessage.id)
        )
        inbox_id = session.execute(stmt).scalar()
        if inbox_id is None:
            return IngestResult(message.source, "redelivered", "already in the inbox (redelivered)")
        inbox = session.get(InboxMessage, inbox_id)
        assert inbox is not None
        return self.process(session, inbox)

    def process(self, session: Session, inbox: InboxMessage) -> IngestResult:
        """Parse and handle one inbox row (also used by dead-letter replay)."""
        source = f"{inbox.topic}/{inbox.partition}/{inbox.offset}"
        settings = self.app.settings
        try:
            parsed = parse_message(
                inbox.raw,
                supported_versions=settings.supported_event_versions,
                max_bytes=settings.kafka_max_message_bytes,
            )
        except InputError as exc:
            inbox.kind = exc.kind
            return self._dead_letter(session, inbox, source, str(exc), exc.field)
        inbox.kind = kind_of(parsed)
        ctx = HandlerContext(
            session=session, settings=settings, renderer=self.app.renderer, now=utcnow(), inbox=inbox
        )
        try:
            with session.begin_nested():
                outcome = HANDLERS.handle(ctx, parsed)
        except InputError as exc:
            return self._dead_letter(session, inbox, source, str(exc), exc.field)
        except DBAPIError as exc:
            if isinstance(exc, IntegrityError):
                return self._dead_letter(
                    session, inbox, source, f"conflicts with stored data: {exc.orig}", None
                )
            raise
        except Exception as exc:  # a bug must not stop the daemon: keep the message and say why
            log.exception("handler failed", extra={"source": source})
            reason = f"internal error while handling the message ({type(exc).__name__}: {str(exc)[:300]})"
            return self._dead_letter(session, inbox, source, reason, None)
        new_state = InboxState.DUPLICATE if outcome.status == "duplicate" else InboxState.PROCESSED
        inbox.state = check_transition(inbox.state, new_state)
        inbox.detail = outcome.summary
        self._resolve_dead_letters(session, inbox)
        return IngestResult(
            source,
            "duplicate" if outcome.status == "duplicate" else "processed",
            outcome.summary,
            inbox.id,
            outcome.alert_id,
            outcome.outbox_rows,
        )

    def _dead_letter(
        self, session: Session, inbox: InboxMessage, source: str, reason: str, field: str | None
    ) -> IngestResult:
        inbox.state = check_transition(inbox.state, InboxState.DEAD_LETTER)
        inbox.detail = reason
        existing = session.execute(
            select(DeadLetter).where(
                DeadLetter.inbox_id == inbox.id, DeadLetter.state == DeadLetterState.OPEN
            )
        ).scalar_one_or_none()
        if existing is None:
            session.add(
                DeadLetter(inbox_id=inbox.id, source=source, raw=inbox.raw, reason=reason, field=field)
            )
        else:
            existing.reason, existing.field, existing.attempts = reason, field, existing.attempts + 1
        log.warning("dead letter", extra={"source": source, "reason": reason})
        return IngestResult(source, "dead_letter", reason, inbox.id)

    @staticmethod
    def _resolve_dead_letters(session: Session, inbox: InboxMessage) -> None:
        for letter in session.execute(
            select(DeadLetter).where(
                DeadLetter.inbox_id == inbox.id, DeadLetter.state == DeadLetterState.OPEN
            )
        ).scalars():
            letter.state = check_transition(letter.state, DeadLetterState.REPLAYED)
