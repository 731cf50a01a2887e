"""A real HTTP reverse proxy in front of ``skyscan serve`` that misbehaves on purpose.

Faults, each for the next N matching requests (method + path regex):
- ``"500"``: answer 500 without forwarding;
- ``"forward_then_500"``: forward (the backend acts), then answer 500 (the outcome is unknown);
- ``"hang"``: wait ``hang_s`` before answering 504 (longer than the client's timeout);
- ``freeze(path regex)``: answer GETs from the first response seen (the scan looks stuck);
- ``stop()`` / ``start()``: close and reopen the listening socket (connection refused meanwhile).
Every request is recorded as (method, path, status).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    kind: str
    remaining: int


class FlakyProxy:
    def __init__(self, target: str, hang_s: float = 3.0) -> None:
        self.target = target.rstrip("/")
        self.hang_s = hang_s
        self.faults: list[Fault] = []
        self.frozen: dict[str, tuple[int, bytes, str]] = {}
        self.freeze_patterns: list[re.Pattern[str]] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.http = requests.Session()

    # -- control ------------------------------------------------------------------------------------
    def fail(self, method: str, path_regex: str, kind: str, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(method, re.compile(path_regex), kind, times))

    def freeze(self, path_regex: str) -> None:
        with self.lock:
            self.freeze_patterns.append(re.compile(path_regex))

    def unfreeze(self) -> None:
        with self.lock:
            self.freeze_patterns.clear()
            self.frozen.clear()

    def count(self, method: str, path_regex: str) -> int:
        pattern = re.compile(path_regex)
        with self.lock:
            return sum(1 for m, p, _ in self.log if m == method and pattern.search(p))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- serving ------------------------------------------------------------------------------------
    def _fault_for(self, method: str, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.method == method and fault.pattern.search(path):
                    fault.remaining -= 1
                    return fault.kind
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with proxy.lock:
                    proxy.log.append((self.command, self.path, status))

            def _forward(self) -> tuple[int, bytes, str, dict[str, str]]:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")
                }
                response = proxy.http.request(
                    self.command,
                    proxy.target + self.path,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=30,
                )
                extra = {"Location": response.headers["Location"]} if "Location" in response.headers else {}
                return response.status_code, response.content, response.headers.get("Content-Type", ""), extra

            def _handle(self) -> None:
                kind = proxy._fault_for(self.command, self.path)
                if kind == "500":
                    self.rfile.read(int(self.headers.get("Content-Length", "0")))
                    self._answer(500, b'{"code": 500, "error": "injected failure"}')
                    return
                if kind == "hang":
                    time.sleep(proxy.hang_s)
                    self._answer(504, b'{"code": 504, "error": "injected timeout"}')
                    return
                if self.command == "GET" and any(p.search(self.path) for p in proxy.freeze_patterns):
                    with proxy.lock:
                        cached = proxy.frozen.get(self.path)
                    if cached is not None:
                        self._answer(*cached)
                        return
                status, body, content_type, extra = self._forward()
                if kind == "forward_then_500":
                    self._answer(500, b'{"code": 500, "error": "injected failure after the backend acted"}')
                    return
                if self.command == "GET" and any(p.search(self.path) for p in proxy.freeze_patterns):
                    with proxy.lock:
                        proxy.frozen.setdefault(self.path, (status, body, content_type))
                self.send_response(status)
                self.send_header("Content-Type", content_type or "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
                with proxy.lock:
                    proxy.log.append((self.command, self.path, status))

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _handle  # noqa: N815 - http.server names

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def start(self) -> FlakyProxy:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> FlakyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.http.close()
