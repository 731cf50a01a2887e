"""Password hashes of the console's local accounts: argon2id (argon2-cffi, its default RFC 9106
parameters), written in argon2's own PHC format ``$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>``.

Hashes made before argon2 are still accepted: scrypt (``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``)
and PBKDF2-SHA256 (``pbkdf2_sha256$<iterations>$<salt>$<hash>``); :func:`needs_rehash` says so, and
the login re-hashes them (:mod:`skymist.console.accounts`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
ARGON2_PREFIX = "$argon2id$"


def hash_password(password: str) -> str:
    """A new salted argon2id hash of ``password``."""
    if not password:
        raise ValueError("password = '': give a password")
    return _HASHER.hash(password)


def _legacy_key(password: str, parts: list[str]) -> tuple[bytes, bytes] | None:
    """The key derived from ``password`` the way the legacy hash ``parts`` was, and the stored key."""
    if parts[0] == "scrypt" and len(parts) == 6:
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=2**27)
        return key, expected
    if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
        salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(parts[1]), len(expected)), expected
    return None


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison); a malformed hash is False."""
    if stored.startswith(ARGON2_PREFIX):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        derived = _legacy_key(password, stored.split("$"))
    except (ValueError, TypeError):
        return False
    return derived is not None and hmac.compare_digest(*derived)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` should be replaced by a new argon2id hash (a legacy format, or argon2 with
    parameters older than this version's)."""
    if not stored.startswith(ARGON2_PREFIX):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """What an unknown name's login is checked against, so it costs what a wrong password costs."""
    return _HASHER.hash(secrets.token_urlsafe(16))
