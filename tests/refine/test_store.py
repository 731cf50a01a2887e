"""Migration 0003 builds exactly the tables of skymist.store.product_models, on PostgreSQL and SQLite;
the Circulars sink's failure handling (never a secret, never an automatic resend of an unknown outcome)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from skymist.outbox.sinks.base import OutboxItem
from skymist.outbox.sinks.circulars import CircularsApiSink, CircularsFileSink
from skymist.store import product_models
from skymist.store.models import Base
from tests.support.migrations import down_and_up_on_sqlite, model_differences

MINE = {"localizations", "circulars", "audit_log"}


def test_migration_matches_the_models_on_postgresql(database_url: str) -> None:
    assert product_models.Localization.__tablename__ in Base.metadata.tables
    assert model_differences(database_url, MINE) == []


def test_migration_upgrades_and_downgrades_on_sqlite(tmp_path: Path) -> None:
    columns = down_and_up_on_sqlite(tmp_path, "0003", "0002", MINE)
    assert {"state", "kind", "approved_by", "approved_at", "submitted_at", "outbox_id"} <= columns[
        "circulars"
    ]


def item(payload: bytes = b'{"subject": "IceCube-220524A - x", "body": "Text."}') -> OutboxItem:
    return OutboxItem(
        id=1,
        sink="circulars",
        destination="IceCube-220524A",
        product="circular",
        idempotency_key="circular:1",
        payload=payload,
        content_type="application/json",
        message_key=None,
        verify_hint=None,
        in_doubt=False,
    )


class _Server:
    def __init__(self, status: int, delay_s: float = 0.0, body: bytes = b"{}") -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(delay_s)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting (the timeout case)
                    return

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/circulars"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_api_sink_failures() -> None:
    token = "tok-31337-secret"
    refused = CircularsApiSink("http://127.0.0.1:9/api/circulars", token, 2.0).send([item()])[0]
    assert not refused.ok and not refused.permanent and token not in (refused.error or "")  # retried later
    slow = _Server(200, delay_s=1.0)
    busy = _Server(503)
    echo = _Server(401, body=f"bad token {token}".encode())
    try:
        unknown = CircularsApiSink(slow.url, token, 0.3).send([item()])[0]
        assert (
            not unknown.ok
            and unknown.permanent
            and "check the GCN Circulars archive" in (unknown.error or "")
        )
        retry = CircularsApiSink(busy.url, token, 2.0).send([item()])[0]
        assert not retry.ok and not retry.permanent and "HTTP 503" in (retry.error or "")
        denied = CircularsApiSink(echo.url, token, 2.0).send([item()])[0]
        assert denied.permanent and "HTTP 401" in (denied.error or "") and token not in (denied.error or "")
        wrong = CircularsApiSink(busy.url, token, 2.0).send([item(b'{"subject": "x"}')])[0]
        assert wrong.permanent and "subject and body" in (wrong.error or "")
    finally:
        for server in (slow, busy, echo):
            server.close()


def test_file_sink_writes_and_verifies(tmp_path: Path) -> None:
    sink = CircularsFileSink(tmp_path / "circulars")
    assert sink.verify(item()) is False
    [result] = sink.send([item()])
    path = tmp_path / "circulars" / "IceCube-220524A.txt"
    assert result.ok and result.delivery_ref == f"file:{path}"
    assert path.read_text() == "SUBJECT: IceCube-220524A - x\n\nText.\n"
    assert sink.verify(item()) is True
    bad = OutboxItem(**{**item().__dict__, "destination": "../escape"})
    [refusal] = sink.send([bad])
    assert refusal.permanent and "not a plain file name" in (refusal.error or "")
