"""The console's sessions on the server, and its login throttle.

``console_sessions``: one row per logged-in browser. The cookie holds a random opaque id; the row
is keyed by the SHA-256 of it (a copy of the table opens no session). Logout deletes the row; the
CLI deletes every row of a user. OIDC sessions keep the refresh token the group re-check uses.

``console_login_throttle``: failed logins per account (``account:<name>``) and per address
(``address:<ip>``) in the current window, and until when the key is locked out.

``console_password_hashes``: the argon2 hash a local account's password was re-hashed to at its
first login after the configured hash (``console_users``, a file the console never writes) became
outdated (scrypt, PBKDF2, older argon2 parameters); it applies only while the configured hash is the
one it replaced (its SHA-256 in ``replaces``), so a new configured password takes over at once.

Revision ID: 0009_console_sessions
Revises: 0008_heartbeat_rows_read
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_console_sessions"
down_revision: str | None = "0008_heartbeat_rows_read"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("flash", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("checked_at", _TS, nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_user_name", "console_sessions", ["user_name"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "console_login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("locked_until", _TS, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_console_login_throttle")),
    )
    op.create_table(
        "console_password_hashes",
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("replaces", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_console_password_hashes")),
    )


def downgrade() -> None:
    op.drop_table("console_password_hashes")
    op.drop_table("console_login_throttle")
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_index("ix_console_sessions_user_name", table_name="console_sessions")
    op.drop_table("console_sessions")
