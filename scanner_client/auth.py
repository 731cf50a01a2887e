"""Bearer tokens for the SkyDriver API: a static token, or an OAuth2 client-credentials
token that renews itself before it expires.

Secrets are held as :class:`pydantic.SecretStr`; they never appear in ``repr``, logs or
exception messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import requests
from pydantic import SecretStr

from scanner_client.errors import TokenError

LOG = logging.getLogger(__name__)


class TokenSource(Protocol):
    """Where the client's bearer token comes from."""

    def token(self) -> str:
        """The access token to send now."""
        ...

    def invalidate(self) -> bool:
        """Forget the current token after the server refused it.

        Returns True if a different token can be obtained (worth one more try).
        """
        ...


def _secret(value: str | SecretStr) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class StaticToken:
    """A fixed bearer token (e.g. a long-lived service token)."""

    def __init__(self, token: str | SecretStr) -> None:
        self._token = _secret(token)
        if not self._token.get_secret_value():
            raise ValueError("StaticToken: the token is empty")

    def token(self) -> str:
        return self._token.get_secret_value()

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticToken(token=SecretStr('**********'))"


class ClientCredentials:
    """OAuth2 client-credentials grant (RFC 6749 §4.4), e.g. against Keycloak.

    The token is fetched on first use and fetched again ``refresh_margin_s`` before it expires
    (at most half its lifetime early), so a request never carries an expired token. Thread-safe.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        scope: str | None = None,
        refresh_margin_s: float = 30.0,
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token_url or not client_id:
            raise ValueError("ClientCredentials: token_url and client_id are required")
        self.token_url = token_url
        self.client_id = client_id
        self._secret = _secret(client_secret)
        self.scope = scope
        self.refresh_margin_s = refresh_margin_s
        self.timeout_s = timeout_s
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._access: SecretStr | None = None
        self._renew_at = 0.0
        #: how many tokens were obtained so far (for monitoring)
        self.fetch_count = 0

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            "client_secret=SecretStr('**********'))"
        )

    def token(self) -> str:
        with self._lock:
            if self._access is None or self._clock() >= self._renew_at:
                self._fetch()
            assert self._access is not None
            return self._access.get_secret_value()

    def invalidate(self) -> bool:
        with self._lock:
            self._access = None
        return True

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        if self.scope:
            form["scope"] = self.scope
        started = self._clock()
        try:
            response = self._session.post(self.token_url, data=form, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise TokenError(self.token_url, None, type(exc).__name__) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            detail = "not a JSON object"
            if isinstance(body, dict):
                detail = str(body.get("error_description") or body.get("error") or detail)
            raise TokenError(self.token_url, response.status_code, detail)
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise TokenError(self.token_url, response.status_code, "answer has no access_token")
        lifetime = body.get("expires_in", 300)
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            raise TokenError(self.token_url, response.status_code, f"bad expires_in {lifetime!r}")
        margin = min(self.refresh_margin_s, float(lifetime) / 2)
        self._access = SecretStr(access)
        self._renew_at = started + float(lifetime) - margin
        self.fetch_count += 1
        LOG.info(
            "obtained an access token",
            extra={"token_url": self.token_url, "client_id": self.client_id, "expires_in_s": lifetime},
        )
