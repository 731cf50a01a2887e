"""Production login through OIDC (IceCube's Keycloak): the authorization-code flow.

1. ``/auth/login`` redirects to the issuer's authorization endpoint with ``response_type=code``,
   the client id, the redirect URI ``<console_base_url>/auth/callback``, the scopes, and a random
   ``state`` and ``nonce`` kept in a short-lived signed cookie;
2. ``/auth/callback`` checks ``state``, exchanges the code at the token endpoint (client secret,
   HTTP basic), and checks the ID token: signature by a key of the issuer's JWKS (RS256/ES256),
   ``iss``, ``aud`` = client id, ``exp``, and the ``nonce``;
3. the user's name is the ``console_oidc_username_claim``; a member of a ``console_oidc_shifter_groups``
   group is a shifter, everyone else an observer.

The endpoints come from the issuer's ``/.well-known/openid-configuration``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests

from skymist.config import Settings


class OidcError(Exception):
    """The OIDC login failed (the message says at which step; never a secret)."""


@dataclass(frozen=True)
class OidcUser:
    name: str
    role: str


@dataclass(frozen=True)
class Provider:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class OidcClient:
    def __init__(self, settings: Settings, redirect_uri: str, timeout_s: float = 10.0) -> None:
        if not (settings.console_oidc_issuer and settings.console_oidc_client_id):
            raise OidcError("console_oidc_issuer and console_oidc_client_id must both be set")
        self.settings = settings
        self.issuer = settings.console_oidc_issuer.rstrip("/")
        self.client_id = settings.console_oidc_client_id
        self.redirect_uri = redirect_uri
        self.timeout_s = timeout_s
        self._provider: Provider | None = None
        self._jwks: jwt.PyJWKClient | None = None

    def provider(self) -> Provider:
        if self._provider is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                reply = requests.get(url, timeout=self.timeout_s)
                reply.raise_for_status()
                doc = reply.json()
                self._provider = Provider(
                    doc["authorization_endpoint"], doc["token_endpoint"], doc["jwks_uri"]
                )
            except (requests.RequestException, ValueError, KeyError) as exc:
                raise OidcError(f"discovery at {url} failed: {exc}") from None
        return self._provider

    @staticmethod
    def new_state() -> tuple[str, str]:
        return secrets.token_urlsafe(24), secrets.token_urlsafe(24)

    def authorization_url(self, state: str, nonce: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.settings.console_oidc_scopes,
                "state": state,
                "nonce": nonce,
            }
        )
        return f"{self.provider().authorization_endpoint}?{query}"

    def exchange(self, code: str, nonce: str) -> OidcUser:
        """Trade the authorization code for tokens and check the ID token."""
        secret = self.settings.console_oidc_client_secret
        try:
            reply = requests.post(
                self.provider().token_endpoint,
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri},
                auth=(self.client_id, secret.get_secret_value() if secret else ""),
                timeout=self.timeout_s,
            )
            reply.raise_for_status()
            id_token = reply.json()["id_token"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise OidcError(f"token exchange failed: {type(exc).__name__}") from None
        claims = self.verify(id_token, nonce)
        return self.user_of(claims)

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        if self._jwks is None:
            self._jwks = jwt.PyJWKClient(self.provider().jwks_uri, timeout=int(self.timeout_s))
        try:
            key = self._jwks.get_signing_key_from_jwt(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256", "ES256"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise OidcError(f"ID token refused: {exc}") from None
        if claims.get("nonce") != nonce:
            raise OidcError("ID token refused: nonce does not match the login")
        return claims

    def user_of(self, claims: dict[str, Any]) -> OidcUser:
        name = str(claims.get(self.settings.console_oidc_username_claim) or claims["sub"])[:100]
        groups = claims.get(self.settings.console_oidc_groups_claim) or []
        shifter = bool(set(map(str, groups)) & set(self.settings.console_oidc_shifter_groups))
        return OidcUser(name=name, role="shifter" if shifter else "observer")
