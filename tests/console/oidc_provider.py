"""A local OIDC provider stand-in for the console's login tests, on loopback HTTP, strict where
Keycloak is:

- discovery document; JWKS with only the current signing key (:meth:`OidcProvider.rotate_key`
  retires it and signs with a new key id from then on);
- authorization endpoint: the user "logs in" at once and is sent back with a code; PKCE is required
  (``code_challenge_method=S256``), the challenge is kept with the code;
- token endpoint (client secret, HTTP basic): ``authorization_code`` only with the ``code_verifier``
  whose S256 is the code's challenge (a code is used once), RS256 ID token with the nonce, the groups
  and ``at_hash``; ``refresh_token`` (rotated at each use) while the user is :attr:`active`;
- userinfo endpoint (Bearer access token): the user's groups as they are now.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey

PREFIX = "/realms/test"


def _b64_sha256(text: str, half: bool = False) -> str:
    digest = hashlib.sha256(text.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2] if half else digest).decode().rstrip("=")


@dataclass
class _Code:
    nonce: str
    challenge: str
    redirect_uri: str


class OidcProvider:
    def __init__(self, client_id: str, client_secret: str, user: str, groups: list[str]) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.user, self.groups = user, groups
        #: False: the user is disabled at the issuer (refresh tokens refused)
        self.active = True
        self.key_number = 1
        self.key = self._new_key()
        self.codes: dict[str, _Code] = {}
        self.refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = set()
        self.token_requests = 0
        self.pkce_verified = 0
        self.pkce_refused = 0
        self.jwks_fetches = 0
        self.userinfo_requests = 0
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                path = url.path.removeprefix(PREFIX)
                with provider.lock:
                    if path == "/.well-known/openid-configuration":
                        self._json(200, provider.discovery())
                    elif path == "/jwks":
                        provider.jwks_fetches += 1
                        self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                    elif path == "/auth":
                        self._authorize({k: v[-1] for k, v in parse_qs(url.query).items()})
                    elif path == "/userinfo":
                        self._userinfo()
                    else:
                        self._json(404, {"error": "not found"})

            def _authorize(self, query: dict[str, str]) -> None:
                if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                    self._json(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
                    return
                code = secrets.token_urlsafe(16)
                provider.codes[code] = _Code(query["nonce"], query["code_challenge"], query["redirect_uri"])
                target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()

            def _userinfo(self) -> None:
                provider.userinfo_requests += 1
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if token not in provider.access_tokens or not provider.active:
                    self._json(401, {"error": "invalid_token"})
                    return
                self._json(
                    200, {"sub": "u-1", "preferred_username": provider.user, "groups": provider.groups}
                )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                form = {k: v[-1] for k, v in parse_qs(body).items()}
                basic = base64.b64encode(f"{provider.client_id}:{provider.client_secret}".encode()).decode()
                with provider.lock:
                    provider.token_requests += 1
                    if urlparse(self.path).path.removeprefix(PREFIX) != "/token":
                        self._json(404, {"error": "not found"})
                    elif self.headers.get("Authorization") != f"Basic {basic}":
                        self._json(401, {"error": "invalid_client"})
                    elif form.get("grant_type") == "authorization_code":
                        self._code_grant(form)
                    elif form.get("grant_type") == "refresh_token":
                        self._refresh_grant(form)
                    else:
                        self._json(400, {"error": "unsupported_grant_type"})

            def _code_grant(self, form: dict[str, str]) -> None:
                grant = provider.codes.pop(form.get("code", ""), None)  # used once, whatever happens
                if grant is None or form.get("redirect_uri") != grant.redirect_uri:
                    self._json(400, {"error": "invalid_grant"})
                    return
                verifier = form.get("code_verifier", "")
                if not verifier or _b64_sha256(verifier) != grant.challenge:
                    provider.pkce_refused += 1
                    self._json(
                        400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                    )
                    return
                provider.pkce_verified += 1
                self._json(200, provider.tokens(grant.nonce))

            def _refresh_grant(self, form: dict[str, str]) -> None:
                token = form.get("refresh_token", "")
                if token not in provider.refresh_tokens or not provider.active:
                    self._json(400, {"error": "invalid_grant", "error_description": "Token is not active"})
                    return
                provider.refresh_tokens.discard(token)  # rotated: a refresh token is used once
                self._json(200, provider.tokens(None))

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _new_key(self) -> RSAKey:
        return RSAKey.generate_key(
            2048, parameters={"kid": f"k{self.key_number}", "use": "sig", "alg": "RS256"}
        )

    def rotate_key(self) -> None:
        """Sign with a new key (a new key id) from now on; the JWKS shows only the new one."""
        with self.lock:
            self.key_number += 1
            self.key = self._new_key()

    def discovery(self) -> dict[str, Any]:
        issuer = self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def tokens(self, nonce: str | None) -> dict[str, Any]:
        """A new access and refresh token, and an ID token (with ``nonce`` when given)."""
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "sub": "u-1", "iat": now, "exp": now + 300,
                  "preferred_username": self.user, "groups": self.groups,
                  "at_hash": _b64_sha256(access, half=True)}  # fmt: skip
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"alg": "RS256", "kid": self.key.kid}
        id_token = jwt.encode(header, claims, self.key)
        return {"access_token": access, "token_type": "Bearer", "expires_in": 300, "refresh_token": refresh,
                "id_token": id_token}  # fmt: skip

    def __enter__(self) -> OidcProvider:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
