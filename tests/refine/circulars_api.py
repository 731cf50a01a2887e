"""A local HTTP stand-in for the GCN Circulars API (``POST /api/circulars``, bearer token)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class CircularsApiStandIn:
    """Accepts ``{"subject", "body"}`` with the right bearer token, answers with a circular number,
    and records every accepted post."""

    def __init__(self, token: str = "gcn-test-token-5f3a") -> None:
        self.token = token
        self.posts: list[dict[str, Any]] = []
        self.refused = 0
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/api/circulars":
                    self._reply(404, {"error": "not found"})
                    return
                if self.headers.get("Authorization") != f"Bearer {stand_in.token}":
                    with stand_in.lock:
                        stand_in.refused += 1
                    self._reply(403, {"error": "invalid or missing token"})
                    return
                document = json.loads(body)
                if set(document) != {"subject", "body"}:
                    self._reply(400, {"error": "expected subject and body"})
                    return
                with stand_in.lock:
                    stand_in.posts.append(document)
                    number = 40000 + len(stand_in.posts)
                self._reply(200, {"circularId": number, **document})

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CircularsApiStandIn:
        self.thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
