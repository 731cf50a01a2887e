"""Scan orchestration: scans (one per alert revision and plan entry) and their progress snapshots.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("plan_entry", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("request_key", sa.String(length=25), nullable=False),
        sa.Column("backend_scan_id", sa.String(length=64), nullable=True),
        sa.Column("backend_state", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rescans", sa.Integer(), nullable=False),
        sa.Column("backend_down_told", sa.Boolean(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("next_check_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("deadline_at", _TS, nullable=False),
        sa.Column("progress_percent", sa.Float(), nullable=True),
        sa.Column("pixels_done", sa.Integer(), nullable=True),
        sa.Column("pixels_total", sa.Integer(), nullable=True),
        sa.Column("predicted_end", _TS, nullable=True),
        sa.Column("progress_mark", sa.String(length=200), nullable=True),
        sa.Column("last_progress_at", _TS, nullable=True),
        sa.Column("partial_result", sa.LargeBinary(), nullable=True),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("handoff_attempts", sa.Integer(), nullable=False),
        sa.Column("handoff_error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("submitted_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_scans_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
        sa.UniqueConstraint("alert_id", "revision", "plan_entry", name="uq_scans_plan"),
        sa.UniqueConstraint("request_key", name=op.f("uq_scans_request_key")),
    )
    op.create_index("ix_scans_due", "scans", ["state", "next_check_at"])
    op.create_index(op.f("ix_scans_alert_id"), "scans", ["alert_id"])
    op.create_index(op.f("ix_scans_backend_scan_id"), "scans", ["backend_scan_id"])
    op.create_table(
        "scan_progress",
        sa.Column("id", _ID, nullable=False),
        sa.Column("scan_id", _ID, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("backend_scan_id", sa.String(length=64), nullable=False),
        sa.Column("backend_state", sa.String(length=64), nullable=False),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("pixels_done", sa.Integer(), nullable=True),
        sa.Column("pixels_total", sa.Integer(), nullable=True),
        sa.Column("predicted_end", _TS, nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_scan_progress_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_progress")),
    )
    op.create_index(op.f("ix_scan_progress_scan_id"), "scan_progress", ["scan_id"])
    if op.get_bind().dialect.name == "postgresql":
        for column in ("partial_result", "result"):
            op.execute(f'ALTER TABLE scans ALTER COLUMN "{column}" SET STORAGE EXTERNAL')


def downgrade() -> None:
    op.drop_table("scan_progress")
    op.drop_table("scans")
