"""One HTTP exchange with the API: bearer auth, query/body encoding, retries, error mapping.

GET arguments go in the query string with lowercase ``true``/``false``; other calls carry a
JSON body. Redirects are never followed here: a 3xx is handed back to the caller, which decides
(mutating calls must not be silently turned into GETs by a redirect).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from scanner_client.auth import TokenSource
from scanner_client.errors import ScannerTransportError, UnexpectedResponseError, error_for_status
from scanner_client.retry import RetryPolicy, retry_after_s
from skybase.json_types import JSONValue

LOG = logging.getLogger(__name__)

QueryValue = str | int | float | bool | None

_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True)
class Answer:
    """A response that was not an error: status, parsed JSON body and headers."""

    status: int
    body: JSONValue
    headers: Mapping[str, str]
    raw: bytes = b""
    """The exact response bytes (results are stored verbatim)."""


def encode_query(query: Mapping[str, QueryValue] | None) -> dict[str, str]:
    """Query parameters as strings; booleans as lowercase ``true``/``false``; None dropped."""
    encoded: dict[str, str] = {}
    for key, value in (query or {}).items():
        if value is None:
            continue
        encoded[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return encoded


class Transport:
    """Sends requests to one API base URL."""

    def __init__(
        self,
        base_url: str,
        token_source: TokenSource | None,
        *,
        retry: RetryPolicy,
        connect_timeout_s: float,
        read_timeout_s: float,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_source = token_source
        self.retry = retry
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.session = session or requests.Session()
        self.rng = rng or random.Random()
        self.sleep = sleep

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: JSONValue = None,
        retry: bool,
    ) -> Answer:
        """Send one request; ``retry`` allows the retry policy (idempotent calls only)."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode()
        attempts_allowed = self.retry.max_attempts if retry else 1
        attempt = 0
        refreshed_token = False
        while True:
            attempt += 1
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            if self.token_source is not None:
                headers["Authorization"] = f"Bearer {self.token_source.token()}"
            try:
                response = self.session.request(
                    method,
                    url,
                    params=encode_query(query),
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except _TRANSIENT as exc:
                cause = f"{type(exc).__name__}: {_short(exc)}"
                if attempt >= attempts_allowed:
                    raise ScannerTransportError(method, url, attempt, cause) from None
                self._pause(method, path, attempt, cause, None)
                continue
            status = response.status_code
            if (
                status in (401, 403)
                and not refreshed_token
                and self.token_source is not None
                and self.token_source.invalidate()
            ):
                refreshed_token = True
                attempt -= 1  # a fresh token is not a retry
                LOG.info("token refused, retrying with a new one", extra={"method": method, "path": path})
                continue
            if status in self.retry.retry_statuses and attempt < attempts_allowed:
                self._pause(method, path, attempt, f"HTTP {status}", response.headers.get("Retry-After"))
                continue
            if status >= 400:
                code, message = _error_fields(response)
                raise error_for_status(method, url, status, code, message)
            return Answer(status, _json_body(method, url, response), response.headers, response.content)

    def _pause(self, method: str, path: str, attempt: int, cause: str, retry_after: str | None) -> None:
        delay = self.retry.delay_s(attempt, self.rng)
        asked = retry_after_s(retry_after)
        if asked is not None:
            delay = max(delay, min(asked, self.retry.max_delay_s))
        LOG.warning(
            "request failed, retrying",
            extra={
                "method": method,
                "path": path,
                "attempt": attempt,
                "cause": cause,
                "delay_s": round(delay, 3),
            },
        )
        self.sleep(delay)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


def _error_fields(response: requests.Response) -> tuple[int | None, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        code = body.get("code")
        return (code if isinstance(code, int) else None), str(body["error"])
    text = response.text.strip()
    return None, (text[:500] if text else response.reason or f"HTTP {response.status_code}")


def _json_body(method: str, url: str, response: requests.Response) -> JSONValue:
    if 300 <= response.status_code < 400 or not response.content:
        return None
    try:
        return json.loads(response.content)  # accepts bare NaN tokens of old results
    except ValueError:
        raise UnexpectedResponseError(
            f"{method} {url}: HTTP {response.status_code} answer is not JSON: {response.text[:200]!r}"
        ) from None
