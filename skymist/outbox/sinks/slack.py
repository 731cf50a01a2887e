"""Slack sinks: incoming webhook, Web API (chat.postMessage) and the console.

- ``webhook``: POST the Block Kit JSON to the incoming-webhook URL; Slack answers ``ok``. A webhook
  cannot be asked what it received, so an in-doubt message (daemon killed between Slack's answer and
  the store's commit) is sent again: at least once.
- ``web_api``: ``chat.postMessage`` with the outbox idempotency key in the message ``metadata``; an
  in-doubt message is looked up with ``conversations.history`` (``include_all_metadata``) and sent
  again only if Slack does not have it: exactly once.
- ``console``: print the message text and fields on standard output (the demo).

Secrets (webhook URL, bot token) never appear in errors or logs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import requests

from skymist.outbox.sinks.base import OutboxItem, SendResult

METADATA_EVENT = "skymist_outbox"


def _describe(exc: requests.RequestException) -> str:
    """The failure without the URL (a webhook URL is a secret)."""
    return type(exc).__name__


class SlackWebhookSink:
    name = "slack"

    def __init__(self, url: str, timeout_s: float, session: requests.Session | None = None) -> None:
        self._url = url
        self.timeout_s = timeout_s
        self.http = session or requests.Session()

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return None

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        out = []
        for item in items:
            try:
                response = self.http.post(
                    self._url,
                    data=item.payload,
                    headers={"Content-Type": "application/json"},
                    timeout=self.timeout_s,
                )
            except requests.Timeout as exc:
                out.append(SendResult(False, error=f"Slack webhook: {_describe(exc)}", undecided=True))
                continue
            except requests.RequestException as exc:
                out.append(SendResult(False, error=f"Slack webhook: {_describe(exc)}"))
                continue
            if response.status_code == 200:
                out.append(SendResult(True, delivery_ref="webhook"))
            else:
                body = response.text[:200]
                permanent = response.status_code in (400, 403, 404, 410)
                out.append(
                    SendResult(
                        False, error=f"Slack webhook HTTP {response.status_code}: {body}", permanent=permanent
                    )
                )
        return out

    def verify(self, item: OutboxItem) -> bool | None:
        return None

    def close(self) -> None:
        self.http.close()


class SlackWebApiSink:
    name = "slack"

    def __init__(self, api_url: str, token: str, channel: str, timeout_s: float) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.channel = channel
        self.timeout_s = timeout_s
        self.http = requests.Session()

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(
            f"{self.api_url}/{method}",
            json=body,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=self.timeout_s,
        )
        if response.status_code == 429:
            raise requests.HTTPError(
                f"rate limited (retry after {response.headers.get('Retry-After', '?')} s)"
            )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return {"oldest": f"{time.time() - 60:.6f}"}

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        out = []
        for item in items:
            message = json.loads(item.payload)
            body = {
                "channel": self.channel,
                "text": message.get("text", ""),
                "blocks": message.get("blocks", []),
                "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": item.idempotency_key}},
            }
            try:
                answer = self._call("chat.postMessage", body)
            except requests.Timeout as exc:
                out.append(
                    SendResult(False, error=f"Slack chat.postMessage: {_describe(exc)}", undecided=True)
                )
                continue
            except requests.RequestException as exc:
                out.append(SendResult(False, error=f"Slack chat.postMessage: {_describe(exc)}: {exc}"[:300]))
                continue
            if answer.get("ok"):
                out.append(SendResult(True, delivery_ref=f"{answer.get('channel')}/{answer.get('ts')}"))
            else:
                error = str(answer.get("error", "unknown error"))
                permanent = error in (
                    "invalid_blocks",
                    "invalid_payload",
                    "channel_not_found",
                    "not_in_channel",
                )
                out.append(SendResult(False, error=f"Slack chat.postMessage: {error}", permanent=permanent))
        return out

    def verify(self, item: OutboxItem) -> bool | None:
        oldest = (item.verify_hint or {}).get("oldest", "0")
        cursor: str | None = None
        try:
            while True:
                body: dict[str, Any] = {
                    "channel": self.channel,
                    "oldest": oldest,
                    "include_all_metadata": True,
                    "limit": 200,
                }
                if cursor:
                    body["cursor"] = cursor
                answer = self._call("conversations.history", body)
                if not answer.get("ok"):
                    return None
                for message in answer.get("messages", []):
                    metadata = message.get("metadata") or {}
                    if (
                        metadata.get("event_type") == METADATA_EVENT
                        and (metadata.get("event_payload") or {}).get("key") == item.idempotency_key
                    ):
                        return True
                cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
                if not answer.get("has_more") or not cursor:
                    return False
        except requests.RequestException:
            return None

    def close(self) -> None:
        self.http.close()


class ConsoleSink:
    """Prints Slack messages for people (the demo); in-doubt messages are printed again."""

    name = "slack"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return None

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        for item in items:
            message = json.loads(item.payload)
            lines = [f"[slack] {message.get('text', '')}"]
            if item.product.startswith("slack_scan_"):
                print(lines[0], file=self.stream, flush=True)  # milestones: one line
                continue
            for block in message.get("blocks", []):
                for field in block.get("fields", []):
                    lines.append("    " + field.get("text", "").replace("\n", ": ", 1))
            print("\n".join(lines), file=self.stream, flush=True)
        return [SendResult(True, delivery_ref="console") for _ in items]

    def verify(self, item: OutboxItem) -> bool | None:
        return None

    def close(self) -> None:
        return None
