"""Tables of scan orchestration: one row per scan of an alert revision, and its progress snapshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from skymist.states import ScanState
from skymist.store.models import Base, state_column
from skymist.store.types import utcnow


class Scan(Base):
    """One reconstruction of one alert revision by one plan entry (unique together)."""

    __tablename__ = "scans"
    __table_args__ = (
        UniqueConstraint("alert_id", "revision", "plan_entry", name="uq_scans_plan"),
        Index("ix_scans_due", "state", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    plan_entry: Mapped[str] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]]  # the ScanPlanEntry as requested
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[ScanState] = mapped_column(state_column(ScanState), default=ScanState.PLANNED)
    request_key: Mapped[str] = mapped_column(String(25), unique=True)
    backend_scan_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    backend_state: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed calls to the backend in a row
    rescans: Mapped[int] = mapped_column(Integer, default=0)
    backend_down_told: Mapped[bool] = mapped_column(Boolean, default=False)
    outages: Mapped[int] = mapped_column(Integer, default=0)  # backend outages seen (shifters told once each)
    next_check_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deadline_at: Mapped[dt.datetime]
    progress_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    pixels_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pixels_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    predicted_end: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    progress_mark: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_progress_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    partial_result: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    result: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the final result, verbatim
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    handoff_attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed skymap steps of the result
    handoff_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(64), default="plan")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ScanProgress(Base):
    """A snapshot of a scan's progress, stored each time it changes."""

    __tablename__ = "scan_progress"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    backend_scan_id: Mapped[str] = mapped_column(String(64))
    backend_state: Mapped[str] = mapped_column(String(64))
    percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    pixels_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pixels_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    predicted_end: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
