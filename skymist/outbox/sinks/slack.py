"""Slack sinks: incoming webhook, Web API (chat.postMessage) and the console.

- ``webhook``: POST the Block Kit JSON to the incoming-webhook URL; Slack answers ``ok``. A webhook
  cannot be asked what it received, so an in-doubt message (daemon killed between Slack's answer and
  the store's commit) is sent again: at least once. The dispatcher gives it one row per claim, so
  a kill leaves at most that one row in doubt.
- ``web_api``: ``chat.postMessage`` with the outbox idempotency key in the message ``metadata``; an
  in-doubt message is looked up with ``conversations.history`` (``include_all_metadata``) and sent
  again only if Slack does not have it: exactly once.
- ``console``: print the message text and fields on standard output (the demo).

Send outcomes are classified (:func:`failure_of_response`, :func:`failure_of_exception`): an HTTP
answer is never in doubt (429 waits ``Retry-After`` and holds the rest of the batch back; other 4xx
and 5xx are retried, or given up for the codes that will never succeed); a connection that could not
be made is not in doubt either; only a request whose answer was lost (read timeout, connection
dropped after sending) is in doubt. After a failure without an answer the rest of the batch is held
back, and the dispatcher pauses the sink a while (a hanging Slack costs one timeout per batch, or
per pause, not one per message).

Secrets (webhook URL, bot token) never appear in errors or logs.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import requests
import urllib3.exceptions

from skymist.outbox.sinks.base import OutboxItem, SendResult

METADATA_EVENT = "skymist_outbox"

#: HTTP codes of a request Slack will never accept as it is
PERMANENT_STATUS = frozenset({400, 403, 404, 410})
#: wait after a 429 without a usable Retry-After header
DEFAULT_RETRY_AFTER_S = 30.0
#: wait of the messages held back after Slack did not answer
HOLD_BACK_S = 2.0


def _describe(exc: requests.RequestException) -> str:
    """The failure without the URL (a webhook URL is a secret)."""
    return type(exc).__name__


def retry_after_seconds(headers: Mapping[str, str]) -> float:
    """``Retry-After`` as seconds (a number or an HTTP date); the default when absent or unusable."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return DEFAULT_RETRY_AFTER_S
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    return max(0.0, when.timestamp() - time.time())


def failure_of_response(what: str, status: int, headers: Mapping[str, str], body: str) -> SendResult:
    """A non-200 answer: never in doubt (Slack answered)."""
    if status == 429:
        wait = retry_after_seconds(headers)
        return SendResult(
            False, error=f"{what} HTTP 429 (rate limited, retry after {wait:.0f} s)", retry_after_s=wait
        )
    return SendResult(
        False, error=f"{what} HTTP {status}: {body[:200]}", permanent=status in PERMANENT_STATUS
    )


def _never_connected(exc: requests.RequestException) -> bool:
    """The connection was never made (refused, connect timeout): Slack cannot have the message."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)


def failure_of_exception(what: str, exc: requests.RequestException) -> SendResult:
    """No answer: in doubt only if the request may have reached Slack (the answer was lost)."""
    if _never_connected(exc):
        return SendResult(False, error=f"{what}: {_describe(exc)} (not sent)")
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return SendResult(False, error=f"{what}: {_describe(exc)} (answer lost)", undecided=True)
    return SendResult(False, error=f"{what}: {_describe(exc)} (not sent)")


#: one send: its result, and whether Slack answered at all
Attempt = tuple[SendResult, bool]


def send_each(items: Sequence[OutboxItem], send_one: Callable[[OutboxItem], Attempt]) -> list[SendResult]:
    """Send in order; after a 429 or a try Slack did not answer, hold the rest of the batch back
    (and ask the dispatcher to pause the sink after one Slack did not answer)."""
    out: list[SendResult] = []
    for index, item in enumerate(items):
        result, answered = send_one(item)
        if not result.ok and not answered:
            result = dataclasses.replace(result, pause_sink_s=HOLD_BACK_S)
        out.append(result)
        if not result.ok and (result.retry_after_s is not None or not answered):
            wait = result.retry_after_s if result.retry_after_s is not None else HOLD_BACK_S
            held = SendResult(False, error=f"held back: {result.error}", retry_after_s=wait)
            out.extend(held for _ in items[index + 1 :])
            break
    return out


class SlackWebhookSink:
    name = "slack"

    def __init__(self, url: str, timeout_s: float, session: requests.Session | None = None) -> None:
        self._url = url
        self.timeout_s = timeout_s
        self.http = session or requests.Session()

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return None

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        return send_each(items, self._send_one)

    def _send_one(self, item: OutboxItem) -> Attempt:
        try:
            response = self.http.post(
                self._url,
                data=item.payload,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout_s,
            )
        except requests.RequestException as exc:
            return failure_of_exception("Slack webhook", exc), False
        if response.status_code == 200:
            return SendResult(True, delivery_ref="webhook"), True
        failed = failure_of_response("Slack webhook", response.status_code, response.headers, response.text)
        return failed, True

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

    def _post(self, method: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(
            f"{self.api_url}/{method}",
            json=body,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=self.timeout_s,
        )

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._post(method, body)
        if response.status_code != 200:
            raise requests.HTTPError(f"HTTP {response.status_code}")
        answer: dict[str, Any] = response.json()
        return answer

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return {"oldest": f"{time.time() - 60:.6f}"}

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        return send_each(items, self._send_one)

    def _send_one(self, item: OutboxItem) -> Attempt:
        message = json.loads(item.payload)
        body = {
            "channel": self.channel,
            "text": message.get("text", ""),
            "blocks": message.get("blocks", []),
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": item.idempotency_key}},
        }
        what = "Slack chat.postMessage"
        try:
            response = self._post("chat.postMessage", body)
        except requests.RequestException as exc:
            return failure_of_exception(what, exc), False
        if response.status_code != 200:
            return failure_of_response(what, response.status_code, response.headers, response.text), True
        try:
            answer = response.json()
        except ValueError:  # a 200 whose body was cut: it may have been posted
            return SendResult(False, error=f"{what}: answer is not JSON", undecided=True), True
        if answer.get("ok"):
            return SendResult(True, delivery_ref=f"{answer.get('channel')}/{answer.get('ts')}"), True
        error = str(answer.get("error", "unknown error"))
        if error == "ratelimited":
            wait = retry_after_seconds(response.headers)
            return SendResult(False, error=f"{what}: ratelimited", retry_after_s=wait), True
        permanent = error in ("invalid_blocks", "invalid_payload", "channel_not_found", "not_in_channel")
        return SendResult(False, error=f"{what}: {error}", permanent=permanent), True

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
