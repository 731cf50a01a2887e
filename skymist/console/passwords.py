"""Password hashes of the console's local accounts: scrypt (salted, memory-hard) from the standard
library, written as ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``; PBKDF2-SHA256 hashes
(``pbkdf2_sha256$<iterations>$<salt>$<hash>``) are accepted too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_DKLEN = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    """A new salted scrypt hash of ``password``."""
    if not password:
        raise ValueError("password = '': give a password")
    salt = os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison); a malformed hash is False."""
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
            key = hashlib.scrypt(
                password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=2**27
            )
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(parts[1]), len(expected))
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(key, expected)
