"""GCN Circulars sink: submit approved Circulars, or write them as ready-to-send files.

Outbox rows of this sink hold ``{"subject", "body"}`` (JSON) and, as destination, the file stem of
the Circular (``IceCube-220524A`` or ``IceCube-220524A_retraction``). Rows exist only for Circulars a
human approved.

* ``circulars_enabled``: POST the JSON to ``circulars_api_url`` with ``Authorization: Bearer
  <circulars_token>``. A Circular is public and numbered, so an outcome that is unknown (timeout or
  connection lost after the request went out) is NOT retried automatically: the row goes dead,
  shifters are told, and a human checks GCN's archive before ``skymist outbox retry``. Failures
  before anything was sent (connection refused) and HTTP 5xx / 429 are retried.
* otherwise: write ``data_dir/circulars/<stem>.txt`` atomically (subject line, blank line, body) for
  a human to submit; writing again is harmless, and an in-doubt row is verified by reading the file.

The token never appears in errors or logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from skymist.files import path_inside, write_atomic
from skymist.outbox.sinks.base import OutboxItem, SendResult

SINK_CIRCULARS = "circulars"
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def circular_file_text(payload: bytes) -> str:
    """The ready-to-send text of a queued Circular: ``SUBJECT: ...``, a blank line, the body."""
    document = json.loads(payload)
    subject, body = document.get("subject"), document.get("body")
    if not isinstance(subject, str) or not isinstance(body, str):
        raise ValueError("payload: expected {'subject': str, 'body': str}")
    return f"SUBJECT: {subject}\n\n{body}\n"


def circular_file_path(folder: Path, stem: str) -> Path:
    """Where the Circular ``stem`` is written (the stem must be a plain file name)."""
    if not _STEM.match(stem):
        raise ValueError(f"destination = {stem!r}: not a plain file name for a Circular")
    return path_inside(folder, f"{stem}.txt")


class CircularsFileSink:
    """Submission off: each approved Circular becomes a ready-to-send file."""

    name = SINK_CIRCULARS

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return None

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        out = []
        for item in items:
            try:
                path = circular_file_path(self.folder, item.destination)
                text = circular_file_text(item.payload)
            except ValueError as exc:
                out.append(SendResult(False, error=f"Circular file: {exc}", permanent=True))
                continue
            try:
                written = write_atomic(path, text.encode(), "text/plain")
            except OSError as exc:
                out.append(SendResult(False, error=f"Circular file {path}: {exc.strerror or exc}"))
                continue
            out.append(SendResult(True, delivery_ref=f"file:{written.path}"))
        return out

    def verify(self, item: OutboxItem) -> bool | None:
        try:
            path = circular_file_path(self.folder, item.destination)
            return path.is_file() and path.read_text() == circular_file_text(item.payload)
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        return None


class CircularsApiSink:
    """Submission on: POST ``{"subject", "body"}`` to the GCN Circulars API with a bearer token."""

    name = SINK_CIRCULARS

    def __init__(
        self, api_url: str, token: str, timeout_s: float, session: requests.Session | None = None
    ) -> None:
        self.api_url = api_url
        self._token = token
        self.timeout_s = timeout_s
        self.http = session or requests.Session()

    def _clean(self, text: str) -> str:
        return text.replace(self._token, "********") if self._token else text

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return None

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        return [self._send_one(item) for item in items]

    def _send_one(self, item: OutboxItem) -> SendResult:
        try:
            document = json.loads(item.payload)
        except json.JSONDecodeError:
            return SendResult(False, error="Circular payload is not JSON", permanent=True)
        if not isinstance(document, dict) or set(document) != {"subject", "body"}:
            return SendResult(
                False, error="Circular payload: expected exactly subject and body", permanent=True
            )
        try:
            response = self.http.post(
                self.api_url,
                json=document,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.timeout_s,
            )
        except requests.ConnectTimeout as exc:  # nothing reached the API: safe to try again
            return SendResult(False, error=f"GCN Circulars API: {type(exc).__name__}")
        except (requests.Timeout, requests.ConnectionError) as exc:
            if isinstance(exc, requests.ConnectionError) and _never_sent(exc):
                return SendResult(False, error="GCN Circulars API: cannot connect")
            return SendResult(
                False,
                error=(
                    f"GCN Circulars API: {type(exc).__name__} after sending; the Circular may have been "
                    "accepted: check the GCN Circulars archive before retrying"
                ),
                permanent=True,
            )
        except requests.RequestException as exc:
            return SendResult(False, error=f"GCN Circulars API: {type(exc).__name__}")
        if 200 <= response.status_code < 300:
            return SendResult(True, delivery_ref=self._reference(response))
        body = self._clean(response.text[:200])
        retryable = response.status_code >= 500 or response.status_code == 429
        return SendResult(
            False, error=f"GCN Circulars API HTTP {response.status_code}: {body}", permanent=not retryable
        )

    @staticmethod
    def _reference(response: requests.Response) -> str:
        try:
            answer = response.json()
        except ValueError:
            return f"gcn-circulars:HTTP {response.status_code}"
        number = answer.get("circularId") if isinstance(answer, dict) else None
        return (
            f"gcn-circular:{number}" if number is not None else f"gcn-circulars:HTTP {response.status_code}"
        )

    def verify(self, item: OutboxItem) -> bool | None:
        return None  # the API cannot be asked; in-doubt rows are dead before they get here

    def close(self) -> None:
        self.http.close()


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when no connection was made (refused, unresolvable): the request never left this machine."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)
