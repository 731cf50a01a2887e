"""The inbox knows a message by its content too: (topic, partition, offset, SHA-256 of the bytes).

A message at an offset already in the inbox but with different bytes (the topic was re-created, the
cluster is new or failed over, offsets start again from zero) is a new message and is recorded; the
same bytes at the same position are a redelivery, as before. Existing rows get their hash here.

Revision ID: 0005_inbox_identity
Revises: 0004
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision: str = "0005_inbox_identity"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _backfill() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE inbox SET content_sha256 = encode(sha256(raw), 'hex')")
        return
    inbox = sa.table("inbox", sa.column("id"), sa.column("raw"), sa.column("content_sha256"))
    for row_id, raw in bind.execute(sa.select(inbox.c.id, inbox.c.raw)).all():
        bind.execute(
            inbox.update().where(inbox.c.id == row_id).values(content_sha256=hashlib.sha256(raw).hexdigest())
        )


def upgrade() -> None:
    op.add_column("inbox", sa.Column("content_sha256", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("inbox") as batch:
        batch.alter_column("content_sha256", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("uq_inbox_source", type_="unique")
        batch.create_unique_constraint(
            "uq_inbox_source_content", ["topic", "partition", "offset", "content_sha256"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_constraint("uq_inbox_source_content", type_="unique")
        batch.create_unique_constraint("uq_inbox_source", ["topic", "partition", "offset"])
        batch.drop_column("content_sha256")
