"""Tables of the store. Each step of the flow owns its tables; the schema changes only by Alembic."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from skymist.states import AlertState, DeadLetterState, InboxState, OutboxState
from skymist.store.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def state_column(enum_cls: type[enum.Enum]) -> Enum:
    """A state enum stored as its string values (portable: no native enum type)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


class InboxMessage(Base):
    """Every message taken from the stream (or replayed), with its raw bytes, before parsing."""

    __tablename__ = "inbox"
    __table_args__ = (
        # the same position with other bytes is another message (a re-created topic starts at 0 again)
        UniqueConstraint("topic", "partition", "offset", "content_sha256", name="uq_inbox_source_content"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    content_sha256: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of raw
    size_bytes: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    state: Mapped[InboxState] = mapped_column(state_column(InboxState), default=InboxState.RECEIVED)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    produced_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """One candidate neutrino event (natural key run_id, event_id)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("run_id", "event_id", name="uq_alerts_run_event"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    stream: Mapped[str] = mapped_column(String(16))  # GOLD, BRONZE, CASCADE or UNCLASSIFIED
    source: Mapped[str] = mapped_column(String(16))  # realtime or gcn
    state: Mapped[AlertState] = mapped_column(state_column(AlertState))
    event_time: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    revisions: Mapped[list[AlertRevision]] = relationship(
        back_populates="alert", order_by="AlertRevision.revision"
    )


class AlertRevision(Base):
    """One revision of an alert (0 prompt, 1 refined, ...), natural key (run_id, event_id, revision)."""

    __tablename__ = "alert_revisions"
    __table_args__ = (UniqueConstraint("run_id", "event_id", "revision", name="uq_alert_revisions_natural"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(Integer)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"), nullable=True)
    ra_deg: Mapped[float] = mapped_column(Float)
    dec_deg: Mapped[float] = mapped_column(Float)
    err50_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    err90_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    errors_derived: Mapped[bool] = mapped_column(Boolean, default=False)
    signalness: Mapped[float | None] = mapped_column(Float, nullable=True)
    far_per_year: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_tev: Mapped[float | None] = mapped_column(Float, nullable=True)
    message_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # online reco summary
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="revisions")


class AlertNameCounter(Base):
    """How many public names were given per UTC day (IceCube-YYMMDD + A, B, C...)."""

    __tablename__ = "alert_name_counters"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class DeadLetter(Base):
    """A message that could not be turned into an alert: raw bytes and the reason."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(300))  # topic/partition/offset or file
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[DeadLetterState] = mapped_column(
        state_column(DeadLetterState), default=DeadLetterState.OPEN
    )
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxRow(Base):
    """One side effect for one sink: the exact bytes to send and an idempotency key."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True, index=True)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sink: Mapped[str] = mapped_column(String(32))  # kafka, slack, file, ...
    destination: Mapped[str] = mapped_column(String(255))  # topic name, channel, path
    message_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    product: Mapped[str] = mapped_column(String(64))  # e.g. notice_json, voevent, slack_prompt
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(64))
    state: Mapped[OutboxState] = mapped_column(state_column(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verify_hint: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    delivery_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
