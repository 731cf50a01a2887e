"""Tables of the web console: its sessions (kept on the server, so logout and revocation end them)
and its login throttle (failed logins per account and per address, shared by every process)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from skymist.store.models import Base


class ConsoleSession(Base):
    """One logged-in browser. The cookie holds a random id; only its SHA-256 is kept here."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(16))
    #: ``local`` (console_users) or ``oidc``
    source: Mapped[str] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64))
    #: a message shown once on the next page
    flash: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: when the role was last confirmed (OIDC: by the provider; re-checked every console_session_recheck_s)
    checked_at: Mapped[dt.datetime]
    #: the OIDC refresh token the re-check uses (None for local accounts)
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)


class LoginThrottle(Base):
    """Failed logins of one key (``account:<name>`` or ``address:<ip>``) since ``window_start``, and
    the end of its lockout."""

    __tablename__ = "console_login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class PasswordRehash(Base):
    """A local account's password re-hashed with argon2 at login, in place of its configured hash
    (``console_users``) while that is still the hash whose SHA-256 is ``replaces``."""

    __tablename__ = "console_password_hashes"

    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    replaces: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]
