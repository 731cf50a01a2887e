"""The console's session: a cookie holding who is logged in, their role, the session's CSRF token and
an expiry, signed with HMAC-SHA256 (``console_session_secret``). The browser can read nothing it may
change: a cookie whose signature does not match, or that has expired, is no session.

Cookie: ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (not sent with cross-site POSTs),
``Secure`` when ``console_cookie_secure``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

COOKIE = "skymist_console"
#: the short-lived cookie that carries the OIDC login's state and nonce across the redirect
LOGIN_COOKIE = "skymist_console_login"


@dataclass(frozen=True)
class SessionData:
    user: str
    role: str
    csrf: str
    expires: float
    flash: str | None = None

    def with_flash(self, message: str | None) -> SessionData:
        return replace(self, flash=message)


def new_session(user: str, role: str, max_age_s: float) -> SessionData:
    return SessionData(user=user, role=role, csrf=secrets.token_urlsafe(32), expires=time.time() + max_age_s)


class Signer:
    """Signs and checks small JSON documents with one key (``payload.signature``, both base64url)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("console_session_secret: at least 32 characters")
        self.key = key

    def _mac(self, payload: bytes) -> str:
        digest = hmac.new(self.key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def dumps(self, document: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode())
        text = payload.decode().rstrip("=")
        return f"{text}.{self._mac(text.encode())}"

    def loads(self, token: str | None) -> dict[str, Any] | None:
        if not token or "." not in token:
            return None
        text, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(text.encode())):
            return None
        try:
            document = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def session(self, token: str | None) -> SessionData | None:
        document = self.loads(token)
        if document is None:
            return None
        try:
            data = SessionData(**document)
        except TypeError:
            return None
        return data if data.expires > time.time() else None

    def session_cookie(self, data: SessionData) -> str:
        return self.dumps(asdict(data))
