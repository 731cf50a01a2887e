"""Login throttling: failed logins are counted per account and per client address in the store (so
every console process and daemon shares them); ``console_login_attempts`` failures of one account,
or ``console_login_address_attempts`` from one address, within ``console_login_lockout_s`` lock that
account or address out for ``console_login_lockout_s``. A locked-out login is refused before its
password is checked, with the time it may try again. A successful login clears its account's count.

Keys: ``account:<name>`` and ``address:<ip>`` (the address uvicorn reports: behind the site's
proxy, the client's own address when the proxy is trusted, see ``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from skymist.config import Settings
from skymist.store.console_models import LoginThrottle
from skymist.store.upsert import dialect_insert


@dataclass(frozen=True)
class Lockout:
    """A key that may not log in until ``until``."""

    key: str
    until: dt.datetime

    def message(self, now: dt.datetime) -> str:
        kind = self.key.partition(":")[0]
        wait = self.retry_after_s(now)
        return (
            f"too many failed logins for {'this account' if kind == 'account' else 'this address'}: "
            f"locked until {self.until:%Y-%m-%d %H:%M:%S} UTC; try again in {wait} s"
        )

    def retry_after_s(self, now: dt.datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


def account_key(name: str) -> str:
    return f"account:{name[:100]}"


def address_key(address: str) -> str:
    return f"address:{address[:100]}"


def _limits(settings: Settings, name: str, address: str) -> dict[str, int]:
    return {
        account_key(name): settings.console_login_attempts,
        address_key(address): settings.console_login_address_attempts,
    }


def locked_out(sessions: sessionmaker[Session], name: str, address: str, now: dt.datetime) -> Lockout | None:
    """The lockout (the longest) that refuses a login of ``name`` from ``address`` now, if any."""
    keys = [account_key(name), address_key(address)]
    with sessions() as session:
        rows = session.execute(
            select(LoginThrottle).where(LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now)
        ).scalars()
        found = [Lockout(row.key, row.locked_until) for row in rows if row.locked_until is not None]
    return max(found, key=lambda lock: lock.until) if found else None


def record_failure(
    sessions: sessionmaker[Session], settings: Settings, name: str, address: str, now: dt.datetime
) -> Lockout | None:
    """Count a failed login of ``name`` from ``address``; the lockout it starts, if any."""
    window = dt.timedelta(seconds=settings.console_login_lockout_s)
    started = None
    with sessions() as session, session.begin():
        # forget counts whose window and lockout are over (no table of every name ever tried)
        session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.window_start <= now - window,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
            )
        )
        for key, limit in sorted(_limits(settings, name, address).items()):
            session.execute(
                dialect_insert(session, LoginThrottle)
                .values(key=key, failures=0, window_start=now, locked_until=None)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            row = session.execute(
                select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
            ).scalar_one()
            if row.locked_until is not None and row.locked_until > now:
                continue  # already locked: its lockout is not extended
            if row.window_start <= now - window:
                row.failures, row.window_start = 0, now
            row.failures += 1
            if row.failures >= limit:
                row.failures, row.window_start, row.locked_until = 0, now, now + window
                if started is None or row.locked_until > started.until:
                    started = Lockout(key, row.locked_until)
    return started


def record_success(sessions: sessionmaker[Session], name: str) -> None:
    """A login of ``name`` succeeded: its account's failures are forgotten (not its address's)."""
    with sessions() as session, session.begin():
        session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(name)))


def unlock(sessions: sessionmaker[Session], key: str, now: dt.datetime) -> bool:
    """End the lockout and count of ``key`` (``account:<name>`` or ``address:<ip>``); whether it was
    locked out."""
    with sessions() as session, session.begin():
        row = session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            return False
        was_locked = row.locked_until is not None and row.locked_until > now
        session.delete(row)
    return was_locked
