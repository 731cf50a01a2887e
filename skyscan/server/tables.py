"""The service's tables (SQLAlchemy 2). Created by the service on start; a one-row
``skyscan_schema`` table records the layout version and a mismatch refuses to start."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION: Final = 1


class Base(DeclarativeBase):
    metadata = MetaData()


class SchemaRow(Base):
    __tablename__ = "skyscan_schema"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class I3EventRow(Base):
    """A realtime message a scan was launched with (reusable through ``i3_event_id``)."""

    __tablename__ = "skyscan_i3_events"
    i3_event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_json: Mapped[str] = mapped_column(Text)


class ScanRequestRow(Base):
    """A ``POST /scan`` request as stored; its rescans point to it (``ScanRow.request_id``)."""

    __tablename__ = "skyscan_scan_requests"
    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """The id of the scan the request was posted for."""
    body_json: Mapped[str] = mapped_column(Text)


class ScanRow(Base):
    """One scan: its manifest fields, its result and the service's lifecycle bookkeeping."""

    __tablename__ = "skyscan_scans"
    scan_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("skyscan_scan_requests.request_id"))
    timestamp: Mapped[float] = mapped_column(Float)
    last_updated: Mapped[float] = mapped_column(Float)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    scanner_server_args: Mapped[str] = mapped_column(Text)
    ewms_workflow_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ewms_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    classifiers_json: Mapped[str] = mapped_column(Text)
    i3_event_id: Mapped[str] = mapped_column(ForeignKey("skyscan_i3_events.i3_event_id"))
    event_metadata_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    scan_metadata_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    replaced_by_scan_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    result_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    lifecycle: Mapped[str] = mapped_column(String(16))
    ewms_deactivated: Mapped[str | None] = mapped_column(String(16), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The service instance running the scan."""
    heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("skyscan_scans_backlog", "lifecycle", "priority", "timestamp"),)
