"""A local OIDC provider stand-in for the console's login tests: discovery document, authorization
endpoint (redirects back with a code), token endpoint (client secret, HTTP basic) issuing an RS256 ID
token, and the JWKS. Loopback HTTP only."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

PREFIX = "/realms/test"


def _b64(number: int) -> str:
    data = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class OidcProvider:
    def __init__(self, client_id: str, client_secret: str, user: str, groups: list[str]) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.user, self.groups = user, groups
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, str] = {}  # code -> nonce
        self.token_requests = 0
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
                if path == "/.well-known/openid-configuration":
                    issuer = provider.issuer
                    endpoints = {
                        "authorization_endpoint": f"{issuer}/auth",
                        "token_endpoint": f"{issuer}/token",
                    }
                    self._json(200, {"issuer": issuer, **endpoints, "jwks_uri": f"{issuer}/jwks"})
                elif path == "/jwks":
                    numbers = provider.key.public_key().public_numbers()
                    self._json(200, {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                                               "n": _b64(numbers.n), "e": _b64(numbers.e)}]})  # fmt: skip
                elif path == "/auth":  # the user "logs in" at once: back with a code
                    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    code = f"code-{len(provider.codes) + 1}"
                    provider.codes[code] = query["nonce"]
                    target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                provider.token_requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                form = {k: v[-1] for k, v in parse_qs(body).items()}
                basic = base64.b64encode(f"{provider.client_id}:{provider.client_secret}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {basic}":
                    self._json(401, {"error": "invalid_client"})
                    return
                nonce = provider.codes.pop(form.get("code", ""), None)
                if nonce is None:
                    self._json(400, {"error": "invalid_grant"})
                    return
                now = int(time.time())
                claims = {"iss": provider.issuer, "aud": provider.client_id, "sub": "u-1", "iat": now,
                          "exp": now + 300, "nonce": nonce, "preferred_username": provider.user,
                          "groups": provider.groups}  # fmt: skip
                token = jwt.encode(claims, provider.key, algorithm="RS256", headers={"kid": "k1"})
                self._json(200, {"access_token": "a", "token_type": "Bearer", "id_token": token})

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OidcProvider:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
