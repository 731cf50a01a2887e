"""Production login through OIDC (IceCube's Keycloak): the authorization-code flow with PKCE,
through Authlib's OpenID Connect client.

1. ``/auth/login``: Authlib reads the issuer's ``/.well-known/openid-configuration`` (once), and
   builds the authorization URL with a random ``state`` and ``nonce`` and a PKCE ``code_challenge``
   (S256 of a random ``code_verifier``); the three are kept in the signed login cookie;
2. ``/auth/callback``: the state is compared, the code is exchanged at the token endpoint with the
   client secret (HTTP basic) and the ``code_verifier``, and the ID token is checked by Authlib:
   its signature by a key of the issuer's JWKS (a key id not in the cached JWKS makes it fetch the
   JWKS again: the issuer rotated its keys), ``iss``, ``aud`` = client id, ``exp``, ``iat``, the
   ``nonce`` and ``at_hash``;
3. the user's name is the ``console_oidc_username_claim``; a member of a ``console_oidc_shifter_groups``
   group is a shifter, everyone else an observer;
4. every ``console_session_recheck_s`` the session's refresh token gets a new access token and the
   groups are read again from the userinfo endpoint (:meth:`OidcClient.recheck`): the issuer's
   refusal ends the session, a changed group changes the role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OAuthError, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import JoseError

from skymist.config import Settings

#: what a failed step of the flow raises inside Authlib (a message, never a secret)
_FAILURES = (OAuthError, JoseError, requests.RequestException, ValueError, KeyError, RuntimeError)


class OidcError(Exception):
    """The OIDC login failed (the message says at which step; never a secret)."""


class OidcRefusedError(OidcError):
    """The issuer answered no (an unknown, expired or revoked refresh token; userinfo refused)."""


@dataclass(frozen=True)
class OidcUser:
    name: str
    role: str
    #: the refresh token the role is re-checked with (None: the issuer gave none)
    refresh_token: str | None = None


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and what the callback needs back from the login cookie."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class _AuthlibClient(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's synchronous OpenID Connect client over requests; the console keeps the tokens."""

    client_cls = OAuth2Session

    def _on_update_token(self, token: Any, refresh_token: Any = None, access_token: Any = None) -> None:
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OAuthError):
        return f"the issuer answered {exc.error}"
    if isinstance(exc, JoseError):
        return f"ID token refused ({exc.error})"
    return type(exc).__name__


class OidcClient:
    def __init__(self, settings: Settings, redirect_uri: str, timeout_s: float = 10.0) -> None:
        if not (settings.console_oidc_issuer and settings.console_oidc_client_id):
            raise OidcError("console_oidc_issuer and console_oidc_client_id must both be set")
        self.settings = settings
        self.issuer = settings.console_oidc_issuer.rstrip("/")
        self.client_id = settings.console_oidc_client_id
        self.redirect_uri = redirect_uri
        secret = settings.console_oidc_client_secret
        self._client = _AuthlibClient(
            framework=None,
            name="console",
            client_id=self.client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.console_oidc_scopes,
                "code_challenge_method": "S256",
                "default_timeout": timeout_s,
            },
        )

    def _metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = self._client.load_server_metadata()
        except _FAILURES as exc:
            raise OidcError(f"discovery at {self.issuer}/.well-known/openid-configuration failed: "
                            f"{_describe(exc)}") from None  # fmt: skip
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
            raise OidcError(f"discovery: issuer {metadata.get('issuer')!r} is not {self.issuer!r}")
        return metadata

    def start(self) -> LoginStart:
        """The authorization URL of a new login, with its state, nonce and PKCE code verifier."""
        self._metadata()
        try:
            made = self._client.create_authorization_url(self.redirect_uri)
        except _FAILURES as exc:
            raise OidcError(f"authorization URL: {_describe(exc)}") from None
        if "nonce" not in made:
            raise OidcError(f"console_oidc_scopes = {self.settings.console_oidc_scopes!r}: include openid")
        return LoginStart(made["url"], made["state"], made["nonce"], made["code_verifier"])

    def exchange(self, code: str, nonce: str, code_verifier: str) -> OidcUser:
        """Trade the authorization code (and the PKCE verifier) for tokens and check the ID token."""
        metadata = self._metadata()
        try:
            token = self._client.fetch_access_token(
                redirect_uri=self.redirect_uri, code=code, code_verifier=code_verifier
            )
        except _FAILURES as exc:
            raise OidcError(f"token exchange failed: {_describe(exc)}") from None
        claims_options = {
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": self.client_id},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "sub": {"essential": True},
        }
        try:
            claims = self._client.parse_id_token(token, nonce=nonce, claims_options=claims_options)
        except _FAILURES as exc:
            raise OidcError(_describe(exc)) from None
        if claims is None:
            raise OidcError("token exchange failed: the issuer sent no ID token")
        refresh = token.get("refresh_token")
        return self.user_of(dict(claims), refresh if isinstance(refresh, str) else None)

    def recheck(self, name: str, refresh_token: str | None) -> OidcUser:
        """The user's role now, from the userinfo endpoint with a fresh access token; raises
        :class:`OidcRefusedError` when the issuer no longer accepts the login, :class:`OidcError`
        when it cannot be asked."""
        if not refresh_token:
            raise OidcRefusedError("the issuer gave no refresh token: log in again")
        metadata = self._metadata()
        if not metadata.get("userinfo_endpoint"):
            raise OidcError("discovery: the issuer has no userinfo_endpoint")
        try:
            token = self._client.fetch_access_token(grant_type="refresh_token", refresh_token=refresh_token)
            info = self._client.userinfo(token=token)
        except OAuthError as exc:
            raise OidcRefusedError(_describe(exc)) from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 500
            if 400 <= status < 500:
                raise OidcRefusedError(f"userinfo answered HTTP {status}") from None
            raise OidcError(f"userinfo answered HTTP {status}") from None
        except _FAILURES as exc:
            raise OidcError(f"re-check failed: {_describe(exc)}") from None
        user = self.user_of(dict(info), token.get("refresh_token") or refresh_token)
        if user.name != name:
            raise OidcRefusedError(f"userinfo names {user.name!r}, not {name!r}")
        return user

    def user_of(self, claims: dict[str, Any], refresh_token: str | None = None) -> OidcUser:
        name = str(claims.get(self.settings.console_oidc_username_claim) or claims["sub"])[:100]
        groups = claims.get(self.settings.console_oidc_groups_claim) or []
        if not isinstance(groups, list):
            groups = [groups]
        shifter = bool(set(map(str, groups)) & set(self.settings.console_oidc_shifter_groups))
        return OidcUser(name=name, role="shifter" if shifter else "observer", refresh_token=refresh_token)
