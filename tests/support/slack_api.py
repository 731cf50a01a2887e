"""A local HTTP stand-in for Slack: incoming webhooks and the two Web API methods SkyMist uses.

It behaves like Slack on the wire (``ok`` for webhooks; ``chat.postMessage`` answers with a ``ts``;
``conversations.history`` returns messages newer than ``oldest`` with their metadata), records every
message it accepts, and can be told to fail the next N requests with HTTP 500. With ``delay_s`` it
answers each accepted message that much later (a slow Slack: a message posted, its answer not yet
back, the window in which a killed sender leaves it in doubt).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender killed before the answer (a kill -9 test) is no error of the stand-in."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SlackStandIn:
    def __init__(self, token: str = "xoxb-test-token", delay_s: float = 0.0) -> None:
        self.token = token
        self.delay_s = delay_s
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.fail_next = 0
        self.requests = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with stand_in.lock:
                    stand_in.requests += 1
                    if stand_in.fail_next > 0:
                        stand_in.fail_next -= 1
                        self._reply(500, b"internal_error", "text/plain")
                        return
                if self.path.startswith("/webhook/"):
                    message = json.loads(body)
                    if "text" not in message and "blocks" not in message:
                        self._reply(400, b"no_text", "text/plain")
                        return
                    stand_in._record(message)
                    time.sleep(stand_in.delay_s)  # posted; the answer is on its way
                    self._reply(200, b"ok", "text/plain")
                    return
                if self.headers.get("Authorization") != f"Bearer {stand_in.token}":
                    self._reply(200, json.dumps({"ok": False, "error": "invalid_auth"}).encode())
                    return
                if self.path == "/api/chat.postMessage":
                    message = json.loads(body)
                    ts = stand_in._record(message)
                    self._reply(
                        200, json.dumps({"ok": True, "channel": message.get("channel"), "ts": ts}).encode()
                    )
                elif self.path == "/api/conversations.history":
                    query = json.loads(body)
                    oldest = float(query.get("oldest", "0"))
                    with stand_in.lock:
                        found = [m for m in stand_in.messages if float(m["ts"]) > oldest]
                    self._reply(200, json.dumps({"ok": True, "messages": found, "has_more": False}).encode())
                else:
                    self._reply(404, json.dumps({"ok": False, "error": "unknown_method"}).encode())

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, message: dict[str, Any]) -> str:
        with self.lock:
            ts = f"{time.time():.6f}"
            while any(m["ts"] == ts for m in self.messages[-5:]):
                ts = f"{float(ts) + 0.000001:.6f}"
            self.messages.append({**message, "ts": ts})
            return ts

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SlackStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def texts(self) -> list[str]:
        with self.lock:
            return [m.get("text", "") for m in self.messages]
