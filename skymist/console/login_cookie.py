"""The short-lived cookie of a login in progress, before there is a session: the login form's CSRF
token, and the OIDC login's state, nonce, PKCE code verifier and the page to return to.

Signed and time-stamped with itsdangerous (the signer Starlette's own sessions use), HMAC-SHA256 with a
key derived from ``console_session_secret`` and a salt of its own: a cookie whose signature does
not match, or older than :data:`MAX_AGE_S`, is no login. The browser can read it (HttpOnly keeps
scripts out) but changes nothing in it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "skymist_console_login"
MAX_AGE_S = 600
_SALT = "skymist.console.login"


class LoginCookies:
    """Writes and reads the login cookie's value with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("console_session_secret: at least 32 characters")
        self._serializer = URLSafeTimedSerializer(
            key, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def dumps(self, state: dict[str, str]) -> str:
        return self._serializer.dumps(state)

    def loads(self, value: str | None) -> dict[str, str]:
        """The state in ``value``; empty when there is none, it is forged, or it is too old."""
        if not value:
            return {}
        try:
            state: Any = self._serializer.loads(value, max_age=MAX_AGE_S)
        except BadSignature:  # also SignatureExpired
            return {}
        if not isinstance(state, dict):
            return {}
        return {str(k): str(v) for k, v in state.items() if isinstance(v, str)}
