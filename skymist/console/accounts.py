"""The console's local accounts (``console_users``): checking a login, and re-hashing an outdated
password hash with argon2 at the login that proves the password.

The configured hashes live in the settings file, which the console never writes. A re-hash goes to
the store (``console_password_hashes``) together with the SHA-256 of the configured hash it
replaces; it is used only while that configured hash is unchanged, so an administrator who sets a new
password in ``console_users`` is obeyed at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy.orm import Session, sessionmaker

from skymist.config import ConsoleUser
from skymist.console.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from skymist.store.console_models import PasswordRehash
from skymist.store.upsert import dialect_insert


def _fingerprint(configured_hash: str) -> str:
    return hashlib.sha256(configured_hash.encode()).hexdigest()


def current_hash(sessions: sessionmaker[Session], user: ConsoleUser) -> str:
    """The hash ``user``'s password is checked against: the store's re-hash of the configured hash,
    else the configured hash."""
    with sessions() as session:
        rehash = session.get(PasswordRehash, user.name)
    if rehash is not None and rehash.replaces == _fingerprint(user.password_hash):
        return rehash.password_hash
    return user.password_hash


def _store_rehash(
    sessions: sessionmaker[Session], user: ConsoleUser, password: str, now: dt.datetime
) -> None:
    values = {
        "user_name": user.name,
        "replaces": _fingerprint(user.password_hash),
        "password_hash": hash_password(password),
        "updated_at": now,
    }
    with sessions() as session, session.begin():
        insert = dialect_insert(session, PasswordRehash)
        session.execute(
            insert.values(**values).on_conflict_do_update(
                index_elements=["user_name"],
                set_={k: v for k, v in values.items() if k != "user_name"},
            )
        )


def check_local_login(
    sessions: sessionmaker[Session], users: list[ConsoleUser], name: str, password: str, now: dt.datetime
) -> ConsoleUser | None:
    """The local account ``name`` if ``password`` is its password, else None. An unknown name is
    checked against a dummy hash (as long as a wrong password). An outdated hash that matched is
    replaced by an argon2id hash of the password in the store."""
    user = next((u for u in users if u.name == name), None)
    if user is None:
        verify_password(password, dummy_hash())
        return None
    stored = current_hash(sessions, user)
    if not verify_password(password, stored):
        return None
    if needs_rehash(stored):
        _store_rehash(sessions, user, password, now)
    return user
