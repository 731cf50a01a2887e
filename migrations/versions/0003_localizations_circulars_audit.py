"""Refined products: skymap localizations, GCN Circular drafts, audit log.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _float(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "localizations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("scan_ref", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("thresholds", sa.String(length=16), nullable=False),
        _float("level_50"),
        _float("level_90"),
        _float("ra_deg"),
        _float("dec_deg"),
        sa.Column("best_fit_nside", sa.Integer(), nullable=False),
        _float("best_fit_llh"),
        _float("ra_plus_50_deg"),
        _float("ra_minus_50_deg"),
        _float("dec_plus_50_deg"),
        _float("dec_minus_50_deg"),
        _float("area_50_deg2"),
        _float("ra_plus_90_deg"),
        _float("ra_minus_90_deg"),
        _float("dec_plus_90_deg"),
        _float("dec_minus_90_deg"),
        _float("area_90_deg2"),
        _float("err50_deg"),
        _float("err90_deg"),
        sa.Column("nsides", sa.String(length=64), nullable=False),
        sa.Column("n_scanned_pixels", sa.Integer(), nullable=False),
        sa.Column("pixel_convention", sa.String(length=16), nullable=False),
        sa.Column("folder", sa.String(length=64), nullable=False),
        sa.Column("flat_fits_path", sa.String(length=500), nullable=False),
        sa.Column("flat_fits_sha256", sa.String(length=64), nullable=False),
        sa.Column("multiorder_fits_path", sa.String(length=500), nullable=False),
        sa.Column("multiorder_fits_sha256", sa.String(length=64), nullable=False),
        sa.Column("png_path", sa.String(length=500), nullable=False),
        sa.Column("png_sha256", sa.String(length=64), nullable=False),
        sa.Column("healpix_url", sa.String(length=500), nullable=False),
        sa.Column("png_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_localizations_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_localizations")),
        sa.UniqueConstraint("alert_id", "scan_ref", name="uq_localizations_alert_scan"),
    )
    op.create_index(op.f("ix_localizations_alert_id"), "localizations", ["alert_id"], unique=False)
    op.create_table(
        "circulars",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum("track", "retraction", name="circularkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("localization_id", _ID, nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "awaiting_approval",
                "approved",
                "submitted",
                "rejected",
                "superseded",
                name="circularstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", _TS, nullable=True),
        sa.Column("rejected_by", sa.String(length=100), nullable=True),
        sa.Column("rejected_at", _TS, nullable=True),
        sa.Column("submitted_at", _TS, nullable=True),
        sa.Column("outbox_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_circulars_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["localization_id"], ["localizations.id"], name=op.f("fk_circulars_localization_id_localizations")
        ),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_circulars_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulars")),
    )
    op.create_index("ix_circulars_alert_state", "circulars", ["alert_id", "state"], unique=False)
    op.create_index(op.f("ix_circulars_outbox_id"), "circulars", ["outbox_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("alert_id", _ID, nullable=True),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", _ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_audit_log_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_alert_id"), "audit_log", ["alert_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_alert_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_circulars_outbox_id"), table_name="circulars")
    op.drop_index("ix_circulars_alert_state", table_name="circulars")
    op.drop_table("circulars")
    op.drop_index(op.f("ix_localizations_alert_id"), table_name="localizations")
    op.drop_table("localizations")
