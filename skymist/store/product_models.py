"""Tables of the refined products: skymap localizations, GCN Circular drafts and the audit log.

Imported by every module that uses them (``skymist.alerts``, ``skymist.circulars``,
``skymist.alerts.retraction``), so the tables are registered on :data:`skymist.store.models.Base` whenever
they are needed. The schema itself changes only through the Alembic migration ``0003``.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from skymist.states import CircularState
from skymist.store.models import Base
from skymist.store.types import utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


def _enum_column(enum_cls: type[enum.Enum]) -> Enum:
    """An enum stored as its string values (no native enum type: portable to SQLite)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class CircularKind(enum.StrEnum):
    TRACK = "track"  # the refined direction of a track alert (paired with the Rev 1 notice)
    RETRACTION = "retraction"


class Localization(Base):
    """The skymap analysis of one final scan of an alert: best fit, 50%/90% boxes, areas, files."""

    __tablename__ = "localizations"
    __table_args__ = (UniqueConstraint("alert_id", "scan_ref", name="uq_localizations_alert_scan"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    #: the scan this was made from (opaque to this step, e.g. ``scan:12:<backend id>``)
    scan_ref: Mapped[str] = mapped_column(String(200))
    #: the alert revision it produced (None for unclassified events: no public revision)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thresholds: Mapped[str] = mapped_column(String(16))  # wilks, calibrated or hpd
    level_50: Mapped[float] = mapped_column(Float)  # 2 delta-llh (or probability for hpd)
    level_90: Mapped[float] = mapped_column(Float)
    ra_deg: Mapped[float] = mapped_column(Float)
    dec_deg: Mapped[float] = mapped_column(Float)
    best_fit_nside: Mapped[int] = mapped_column(Integer)
    best_fit_llh: Mapped[float] = mapped_column(Float)
    ra_plus_50_deg: Mapped[float] = mapped_column(Float)
    ra_minus_50_deg: Mapped[float] = mapped_column(Float)
    dec_plus_50_deg: Mapped[float] = mapped_column(Float)
    dec_minus_50_deg: Mapped[float] = mapped_column(Float)
    area_50_deg2: Mapped[float] = mapped_column(Float)
    ra_plus_90_deg: Mapped[float] = mapped_column(Float)
    ra_minus_90_deg: Mapped[float] = mapped_column(Float)
    dec_plus_90_deg: Mapped[float] = mapped_column(Float)
    dec_minus_90_deg: Mapped[float] = mapped_column(Float)
    area_90_deg2: Mapped[float] = mapped_column(Float)
    #: GCN's combined radii sqrt(mean RA error * cos(dec) * mean Dec error) of the boxes
    err50_deg: Mapped[float] = mapped_column(Float)
    err90_deg: Mapped[float] = mapped_column(Float)
    nsides: Mapped[str] = mapped_column(String(64))  # "8,64,512"
    n_scanned_pixels: Mapped[int] = mapped_column(Integer)
    pixel_convention: Mapped[str] = mapped_column(String(16))
    folder: Mapped[str] = mapped_column(String(64))  # under data_dir/skymaps/ and public_base_url
    flat_fits_path: Mapped[str] = mapped_column(String(500))
    flat_fits_sha256: Mapped[str] = mapped_column(String(64))
    multiorder_fits_path: Mapped[str] = mapped_column(String(500))
    multiorder_fits_sha256: Mapped[str] = mapped_column(String(64))
    png_path: Mapped[str] = mapped_column(String(500))
    png_sha256: Mapped[str] = mapped_column(String(64))
    #: the same picture as PDF beside the PNG (NULL for localizations recorded before it was made)
    pdf_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    healpix_url: Mapped[str] = mapped_column(String(500))
    png_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Circular(Base):
    """A GCN Circular: drafted automatically, sent only after a human approved it."""

    __tablename__ = "circulars"
    __table_args__ = (Index("ix_circulars_alert_state", "alert_id", "state"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    kind: Mapped[CircularKind] = mapped_column(_enum_column(CircularKind))
    #: the alert revision the text reports (track) or retracts (retraction)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    localization_id: Mapped[int | None] = mapped_column(ForeignKey("localizations.id"), nullable=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[CircularState] = mapped_column(
        _enum_column(CircularState), default=CircularState.AWAITING_APPROVAL
    )
    #: why it is in its state (rejection reason, what superseded it, the approver's note)
    state_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    rejected_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    #: the outbox row that submits it (set on approval)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), nullable=True, index=True)


class AuditEntry(Base):
    """Who did what, when and why (human actions and the submissions they caused)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(
        String(64)
    )  # circular_approved, circular_rejected, alert_retracted...
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True, index=True)
    subject_kind: Mapped[str] = mapped_column(String(32))  # circular, alert
    subject_id: Mapped[int] = mapped_column(_ID)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
