"""The daemon's supervision: heartbeats (synthetic alerts read back) and operations marks.

Revision ID: 0005_ops
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ops"
down_revision: str | None = "0005_inbox_identity"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("id", _ID, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=True),
        sa.Column("products_read", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_heartbeats_sent_at", "heartbeats", ["sent_at"])
    op.create_table(
        "ops_marks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("ops_marks")
    op.drop_index("ix_heartbeats_sent_at", table_name="heartbeats")
    op.drop_table("heartbeats")
