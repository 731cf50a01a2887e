"""A heartbeat's read-back outbox rows as a column of their own, not parsed out of ``detail``.

``detail`` is free text for people (it changes when a beat goes ``missing``); which outbox rows
came back equal is state, and a late read-back of a missing beat must still find it. Beats recorded
before start with an empty list.

Revision ID: 0008_heartbeat_rows_read
Revises: 0007_localization_pdf
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_heartbeat_rows_read"
down_revision: str | None = "0007_localization_pdf"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "heartbeats", sa.Column("rows_read", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )


def downgrade() -> None:
    with op.batch_alter_table("heartbeats") as batch:
        batch.drop_column("rows_read")
