"""A local stand-in for a Sentry server: takes what the Sentry SDK posts to ``/api/<project>/envelope/``
(gzip or plain), and keeps each envelope's header and items, read as the envelope format says:
a JSON header line, then per item a JSON item header line and its payload (``length`` bytes when
the item header says, else up to the next newline)."""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Envelope:
    path: str
    auth: str
    header: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for head, payload in self.items if head.get("type") == "event"]


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    first, _, rest = body.partition(b"\n")
    header: dict[str, Any] = json.loads(first)
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item: dict[str, Any] = json.loads(item_line)
        if "length" in item:
            payload, rest = rest[: item["length"]], rest[item["length"] :].removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item, payload))
    return header, items


class SentryStandIn:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.problems: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                try:
                    if encoding == "gzip":
                        body = gzip.decompress(body)
                    elif encoding:
                        raise ValueError(f"Content-Encoding {encoding} not understood")
                    header, items = parse_envelope(body)
                except ValueError as exc:
                    stand_in.problems.append(f"{self.path}: {exc}")
                    self.send_response(400)
                    self.end_headers()
                    return
                auth = self.headers.get("X-Sentry-Auth", "")
                stand_in.envelopes.append(Envelope(self.path, auth, header, items))
                reply = json.dumps({"id": header.get("event_id", "")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def dsn(self, key: str, project: int = 42) -> str:
        return f"http://{key}@127.0.0.1:{self.port}/{project}"

    def events(self) -> list[tuple[Envelope, dict[str, Any]]]:
        return [(envelope, event) for envelope in list(self.envelopes) for event in envelope.events()]

    def __enter__(self) -> SentryStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
