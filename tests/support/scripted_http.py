"""An HTTP endpoint that answers each POST as a script says: a status (with headers), a hang, a
connection dropped after the request was read, or a normal Slack ``ok``. Used to drive a real
Slack sink through 429 / 500 / 4xx / hanging / lost answers."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0  # wait this long before answering
    drop: bool = False  # read the request, then close the connection without an answer


class ScriptedHttp:
    def __init__(self, *script: Answer, default: Answer | None = None) -> None:
        self.script: deque[Answer] = deque(script)
        self.default = default or Answer()
        self.received: list[dict[str, Any]] = []  # every request read (answered or not)
        self.accepted: list[dict[str, Any]] = []  # requests answered 200
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends every hang at once
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with scripted.lock:
                    answer = scripted.script.popleft() if scripted.script else scripted.default
                    document = json.loads(body or b"{}")
                    scripted.received.append(document)
                if answer.hang_s:
                    scripted.release.wait(answer.hang_s)
                if answer.drop:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    return  # the client gave up waiting
                if answer.status == 200:
                    with scripted.lock:
                        scripted.accepted.append(document)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> ScriptedHttp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
