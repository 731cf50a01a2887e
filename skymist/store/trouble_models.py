"""The record of trouble: one row per incident that waits for a human (skymist.trouble reads it,
skymist.store.trouble_record writes it in the transaction that caused it)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from skymist.states import TroubleState
from skymist.store.models import Base, state_column
from skymist.store.types import utcnow


class TroubleKind(enum.StrEnum):
    DEAD_LETTER = "dead_letter"  # a message that could not be handled (dead_letters)
    OUTBOX_DEAD = "outbox_dead"  # a product given up (outbox)
    OUTBOX_FAILING = "outbox_failing"  # a product still tried after an error (outbox; info only)
    HANDOFF_FAILED = "handoff_failed"  # a final scan whose skymap step gave up (scans)
    SCAN_FAILED = "scan_failed"  # a scan that failed (scans)
    ARCHIVE = "archive"  # archive records not written (the shifters' outbox row)
    INPUT_STREAM = "input_stream"  # a gap or reset in the input stream (the shifters' outbox row)


class TroubleEntry(Base):
    """One incident: what it is about, why, the raw input where there is some, and its state.

    ``source_table``/``source_id`` name the row it was seen on (a dead letter, an outbox row, a
    scan): with ``kind`` they are unique, so each incident is on the record once."""

    __tablename__ = "trouble"
    __table_args__ = (
        UniqueConstraint("source_table", "source_id", "kind", name="uq_trouble_source_kind"),
        Index("ix_trouble_state_kind", "state", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[TroubleKind] = mapped_column(state_column(TroubleKind))
    source_table: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int] = mapped_column(BigInteger)
    alert_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: what it is about: the dead letter's source, the outbox row's key, the scan
    subject: Mapped[str] = mapped_column(String(300))
    #: one line for lists (``skymist check``, the console, Slack)
    summary: Mapped[str] = mapped_column(Text)
    #: why: the error, the attempts
    reason: Mapped[str] = mapped_column(Text)
    #: the raw input (dead letters)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    state: Mapped[TroubleState] = mapped_column(state_column(TroubleState), default=TroubleState.OPEN)
    #: when it happened (the source row's time)
    occurred_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    ack_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
