"""The console's sessions, kept in the store (``console_sessions``).

A login creates a row and gives the browser a random opaque id (32 bytes, base64url) in the session
cookie; the row is keyed by the id's SHA-256, so the table opens no session by itself. Every request
looks its row up: a session past ``console_session_max_age_s`` since the login, or unused for
``console_session_idle_s``, is deleted and is no session. Logout deletes the row (a copy of the old
cookie then opens nothing); ``skymist console revoke NAME`` deletes every row of a user.

Cookie: ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (not sent with cross-site POSTs),
``Secure`` when ``console_cookie_secure``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from skymist.config import Settings
from skymist.store.console_models import ConsoleSession
from skymist.store.product_models import AuditEntry

COOKIE = "skymist_console"
#: a session's last use is written at most this often (not a write per request)
TOUCH_EVERY_S = 30.0


class Source(enum.StrEnum):
    LOCAL = "local"
    OIDC = "oidc"


@dataclass(frozen=True)
class SessionData:
    """One live session as a request sees it."""

    key: str
    user: str
    role: str
    source: Source
    csrf: str
    flash: str | None
    checked_at: dt.datetime
    refresh_token: str | None = None


def key_of(token: str) -> str:
    """The store's key of a session cookie's value."""
    return hashlib.sha256(token.encode()).hexdigest()


def data_of(row: ConsoleSession) -> SessionData:
    return SessionData(
        key=row.token_hash,
        user=row.user_name,
        role=row.role,
        source=Source(row.source),
        csrf=row.csrf,
        flash=row.flash,
        checked_at=row.checked_at,
        refresh_token=row.refresh_token,
    )


def _ended(settings: Settings, now: dt.datetime) -> ColumnElement[bool]:
    idle = dt.timedelta(seconds=settings.console_session_idle_s)
    return or_(ConsoleSession.expires_at <= now, ConsoleSession.last_seen_at <= now - idle)


def create(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: dt.datetime,
    user: str,
    role: str,
    source: Source,
    refresh_token: str | None = None,
) -> str:
    """A new session of ``user``; returns the cookie's value (never stored). Sessions that have
    ended are deleted on the way."""
    token = secrets.token_urlsafe(32)
    with sessions() as session, session.begin():
        session.execute(delete(ConsoleSession).where(_ended(settings, now)))
        session.add(
            ConsoleSession(
                token_hash=key_of(token),
                user_name=user,
                role=role,
                source=source.value,
                csrf=secrets.token_urlsafe(32),
                flash=None,
                created_at=now,
                last_seen_at=now,
                expires_at=now + dt.timedelta(seconds=settings.console_session_max_age_s),
                checked_at=now,
                refresh_token=refresh_token,
            )
        )
    return token


def find(
    sessions: sessionmaker[Session],
    settings: Settings,
    token: str | None,
    now: dt.datetime,
    *,
    touch: bool = True,
) -> SessionData | None:
    """The live session of a cookie's value, else None (an ended one is deleted). ``touch=False``:
    the request is not use (a page's background poll), so an unattended page still goes idle."""
    if not token or len(token) > 200:
        return None
    key = key_of(token)
    idle = dt.timedelta(seconds=settings.console_session_idle_s)
    with sessions() as session, session.begin():
        row = session.get(ConsoleSession, key)
        if row is None:
            return None
        if row.expires_at <= now or row.last_seen_at <= now - idle:
            session.delete(row)
            return None
        if touch and (now - row.last_seen_at).total_seconds() >= min(
            TOUCH_EVERY_S, settings.console_session_idle_s / 4
        ):
            session.execute(
                update(ConsoleSession).where(ConsoleSession.token_hash == key).values(last_seen_at=now)
            )
        return data_of(row)


def end(sessions: sessionmaker[Session], key: str) -> None:
    """Delete one session (logout)."""
    with sessions() as session, session.begin():
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == key))


def revoke_user(
    sessions: sessionmaker[Session], user: str, by: str, reason: str | None, now: dt.datetime
) -> int:
    """Delete every session of ``user`` (audited, with who did it and why); how many there were."""
    with sessions() as session, session.begin():
        keys = (
            session.execute(select(ConsoleSession.token_hash).where(ConsoleSession.user_name == user))
            .scalars()
            .all()
        )
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash.in_(keys)))
        session.add(
            AuditEntry(
                at=now,
                actor=by,
                action="console_sessions_revoked",
                subject_kind="console_user",
                subject_id=0,
                reason=reason,
                details={"user": user, "sessions": len(keys)},
            )
        )
    return len(keys)


def set_flash(sessions: sessionmaker[Session], key: str, message: str | None) -> None:
    """The message the session's next page shows once (None: clear it)."""
    with sessions() as session, session.begin():
        session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == key).values(flash=message))


def clear_flash(sessions: sessionmaker[Session], key: str, shown: str) -> None:
    """The flash message ``shown`` was shown: clear it (not a newer one set meanwhile)."""
    with sessions() as session, session.begin():
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.token_hash == key, ConsoleSession.flash == shown)
            .values(flash=None)
        )


@dataclass(frozen=True)
class SessionSummary:
    """A live session as ``skymist console sessions`` lists it (no token, no hash)."""

    user: str
    role: str
    source: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime


def live(sessions: sessionmaker[Session], settings: Settings, now: dt.datetime) -> list[SessionSummary]:
    """Every session that has not ended, by user then login time."""
    with sessions() as session:
        rows = session.execute(
            select(ConsoleSession)
            .where(~_ended(settings, now))
            .order_by(ConsoleSession.user_name, ConsoleSession.created_at)
        ).scalars()
        return [
            SessionSummary(r.user_name, r.role, r.source, r.created_at, r.last_seen_at, r.expires_at)
            for r in rows
        ]
