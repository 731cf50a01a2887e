"""Store raw message bytes uncompressed (PostgreSQL ``STORAGE EXTERNAL``).

Realtime messages are mostly base64 of zlib-compressed detector frames: incompressible. PostgreSQL's
default (pglz) still tries to compress every value, which measured ~5 ms per 250 kB message on the
hot path of ingest; out-of-line storage without compression takes ~1 ms.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = (("inbox", "raw"), ("dead_letters", "raw"), ("outbox", "payload"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STORAGE EXTERNAL')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STORAGE EXTENDED')
