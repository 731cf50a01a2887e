"""Tables of the daemon's own supervision: heartbeats (synthetic alerts read back from the output
topics) and operations marks (what shifters have acknowledged, when they were last told)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from skymist.states import HeartbeatState
from skymist.store.models import Base, state_column
from skymist.store.types import utcnow


class Heartbeat(Base):
    """One synthetic test alert sent through the prompt path and the read-back of its notices."""

    __tablename__ = "heartbeats"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    state: Mapped[HeartbeatState] = mapped_column(state_column(HeartbeatState), default=HeartbeatState.SENT)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    received_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    products_read: Mapped[int] = mapped_column(Integer, default=0)
    #: ids of this beat's Kafka outbox rows read back with the bytes the outbox sent
    rows_read: Mapped[list[int]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class OpsMark(Base):
    """A named mark: ``dead_letters_acked`` (highest dead-letter id acknowledged), ``told:<what>``
    (when shifters were last told about ``what``: the pacing of repeated warnings)."""

    __tablename__ = "ops_marks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
