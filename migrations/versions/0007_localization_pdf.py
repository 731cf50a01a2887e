"""A localization's picture as PDF too (vector, for publications), beside its PNG.

Rows recorded before have no PDF: both columns stay NULL for them.

Revision ID: 0007_localization_pdf
Revises: 0005_ops
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_localization_pdf"
down_revision: str | None = "0005_ops"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("localizations", sa.Column("pdf_path", sa.String(length=500), nullable=True))
    op.add_column("localizations", sa.Column("pdf_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("localizations") as batch:
        batch.drop_column("pdf_sha256")
        batch.drop_column("pdf_path")
