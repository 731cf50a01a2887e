"""Failures between client and service: a ``POST /scan`` whose outcome is unknown (a real
misbehaving proxy on loopback) never creates two scans; OAuth2 client-credentials tokens come
from a real local token endpoint and are renewed before expiry and after a refusal."""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scanner_client import ClientCredentials, RetryPolicy, SkyDriverClient, TokenError
from tests.scanner_contract.conftest import OAUTH_TOKENS, USER_TOKEN, Service, dummy_request, wait_for_scan


class MisbehavingProxy(socketserver.ThreadingTCPServer):
    """Relays HTTP/1.1 requests to the service, one per connection. The POST /scan requests meet
    the scripted ``faults`` in turn: ``drop`` forwards then closes without answering, ``502``
    forwards then answers 502, ``hang`` forwards then stays silent until the client hangs up,
    ``refuse`` closes unforwarded."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: str, faults: list[str]) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.faults = list(faults)
        self.forwarded_posts = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: MisbehavingProxy

    def handle(self) -> None:
        request_line = self.rfile.readline().decode()
        if not request_line:
            return
        method, target, _ = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        while (line := self.rfile.readline().decode()) not in ("\r\n", "\n", ""):
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        body = self.rfile.read(int(headers.get("Content-Length", "0") or 0))
        fault = None
        if method == "POST" and target.split("?")[0] == "/scan":
            with self.server.lock:
                fault = self.server.faults.pop(0) if self.server.faults else None
        if fault == "refuse":
            return
        upstream = http.client.HTTPConnection(self.server.upstream.netloc, timeout=30)
        forward = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(method, target, body=body, headers=forward)
        answer = upstream.getresponse()
        payload = answer.read()
        upstream.close()
        if method == "POST" and target.split("?")[0] == "/scan":
            with self.server.lock:
                self.server.forwarded_posts += 1
        if fault == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "hang":  # silent until the client gives up and closes its end (or 60 s)
            self.connection.settimeout(60)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            return
        status, reason = (502, "Bad Gateway") if fault == "502" else (answer.status, answer.reason)
        if fault == "502":
            payload = json.dumps({"code": 502, "error": "bad gateway"}).encode()
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        location = answer.getheader("Location")
        if location:
            head += f"Location: {location}\r\n"
        head += f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        self.wfile.write(head.encode() + payload)


@pytest.fixture
def proxy_factory(service: Service) -> Iterator[Any]:
    proxies: list[MisbehavingProxy] = []

    def make(faults: list[str]) -> MisbehavingProxy:
        proxy = MisbehavingProxy(service.url, faults)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("faults", [["drop"], ["502"], ["hang"], ["drop", "502"], ["refuse"]])
def test_post_scan_with_unknown_outcome_creates_exactly_one_scan(
    service: Service,
    client: SkyDriverClient,
    proxy_factory: Any,
    real_event: dict[str, Any],
    faults: list[str],
) -> None:
    proxy = proxy_factory(faults)
    retry = RetryPolicy(max_attempts=4, base_delay_s=0.05, max_delay_s=0.2)
    key = f"dedupe-{'-'.join(faults)}"[:24]
    with SkyDriverClient(
        proxy.url, token=USER_TOKEN, retry=retry, read_timeout_s=1.5, dedupe_settle_s=0.2
    ) as flaky:  # every call goes through the misbehaving proxy
        manifest = flaky.launch_scan(dummy_request(real_event, {1: 0}), request_key=key)
    same_key = client.find_scans({"classifiers.skymist_req": key}, include_deleted=True)
    assert [m.scan_id for m in same_key] == [manifest.scan_id]
    assert proxy.forwarded_posts == 1, "the service saw a second POST /scan"
    wait_for_scan(client, manifest.scan_id, lambda s: s.scan_complete)


class _TokenEndpoint(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.server.requests.append({k: v[0] for k, v in form.items()})
        if form.get("client_secret") != ["s3cret-value"] or form.get("grant_type") != ["client_credentials"]:
            self._answer(
                401, {"error": "unauthorized_client", "error_description": "Invalid client credentials"}
            )
            return
        token = self.server.tokens.pop(0)
        self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.server.lifetime})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def token_endpoint() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    server.requests = []  # type: ignore[attr-defined]
    server.tokens = ["token-the-service-refuses", *OAUTH_TOKENS]  # type: ignore[attr-defined]
    server.lifetime = 1  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_client_credentials_token_is_renewed(service: Service, token_endpoint: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{token_endpoint.server_address[1]}/realms/IceCube/protocol/openid-connect/token"
    now = [1000.0]  # the credentials' clock, moved by the test: token lifetimes whatever the load
    credentials = ClientCredentials(
        url, "skymist", "s3cret-value", refresh_margin_s=0.3, clock=lambda: now[0]
    )
    assert "s3cret-value" not in repr(credentials)
    token_endpoint.lifetime = 3600  # type: ignore[attr-defined]
    with SkyDriverClient(service.url, auth=credentials) as client:
        client.ping()  # the first token is refused (403): a new one is fetched and accepted
        assert credentials.fetch_count == 2
        token_endpoint.lifetime = 1  # type: ignore[attr-defined]
        credentials.invalidate()
        client.ping()
        assert credentials.fetch_count == 3
        now[0] += 0.8  # the 1 s token is now within 0.3 s of expiry: renewed before use
        client.ping()
        assert credentials.fetch_count == 4
        client.ping()
        assert credentials.fetch_count == 4  # still fresh: no new request
    requests = token_endpoint.requests  # type: ignore[attr-defined]
    assert len(requests) == 4
    assert all(r["client_id"] == "skymist" and r["grant_type"] == "client_credentials" for r in requests)


def test_token_endpoint_refusal_keeps_the_secret_out(token_endpoint: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{token_endpoint.server_address[1]}/token"
    credentials = ClientCredentials(url, "skymist", "wrong-secret-value")
    with (
        SkyDriverClient("http://127.0.0.1:9", auth=credentials) as client,
        pytest.raises(TokenError) as caught,
    ):
        client.ping()
    assert caught.value.status == 401 and "Invalid client credentials" in str(caught.value)
    assert "wrong-secret-value" not in str(caught.value) and "wrong-secret-value" not in repr(caught.value)
