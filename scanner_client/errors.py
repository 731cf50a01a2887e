"""Exceptions raised by the SkyDriver client.

Every failure is a :class:`ScannerError`. Errors answered by the server are
:class:`ScannerHTTPError` subclasses carrying the HTTP status, the ``code`` and the
server's own ``error`` message from its ``{"code", "error"}`` body, so the reason
reaches whoever catches the exception. No exception text ever contains a token or secret.
"""

from __future__ import annotations

from skybase.json_types import JSONValue


class ScannerError(Exception):
    """Base class of every error raised by ``scanner_client``."""


class ScannerValidationError(ScannerError, ValueError):
    """A request was refused client-side, before anything was sent.

    ``field`` names the offending field and ``value`` is what was given.
    """

    def __init__(self, field: str, value: JSONValue, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {reason} (got {value!r})")


class ScannerTransportError(ScannerError):
    """The server could not be reached or did not answer, even after the retries allowed."""

    def __init__(self, method: str, url: str, attempts: int, cause: str) -> None:
        self.method = method
        self.url = url
        self.attempts = attempts
        self.cause = cause
        super().__init__(f"{method} {url}: no answer after {attempts} attempt(s): {cause}")


class OutcomeUnknownError(ScannerError):
    """A ``POST /scan`` failed in a way that leaves its outcome unknown, and the look-up
    that would settle it failed too. The scan may or may not exist: search for
    ``classifiers.<request_key_field>`` == ``request_key`` before submitting again."""

    def __init__(self, request_key_field: str, request_key: str, cause: str) -> None:
        self.request_key_field = request_key_field
        self.request_key = request_key
        super().__init__(
            f"POST /scan outcome unknown for classifiers.{request_key_field}={request_key!r}: {cause}"
        )


class TokenError(ScannerError):
    """The OAuth2 token endpoint refused or failed to issue an access token."""

    def __init__(self, token_url: str, status: int | None, message: str) -> None:
        self.token_url = token_url
        self.status = status
        self.message = message
        where = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"token endpoint {token_url} ({where}): {message}")


class UnexpectedResponseError(ScannerError):
    """The server answered with something that is not the documented shape."""


class ScannerHTTPError(ScannerError):
    """The server answered with an error status.

    ``status`` is the HTTP status, ``code`` the body's ``code`` (normally equal to the status)
    and ``message`` the body's ``error`` text (the server's own words).
    """

    def __init__(self, method: str, url: str, status: int, code: int | None, message: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{method} {url}: HTTP {status}: {message}")


class BadRequestError(ScannerHTTPError):
    """HTTP 400: the server refused the request's arguments."""


class AuthError(ScannerHTTPError):
    """HTTP 401/403: the token is missing, invalid, or lacks the role the route needs."""


class NotFoundError(ScannerHTTPError):
    """HTTP 404: no such scan (or it is deleted and ``include_deleted`` was not set)."""


class UnprocessableError(ScannerHTTPError):
    """HTTP 422: the request is well-formed but not applicable to the scan's state."""


class RateLimitedError(ScannerHTTPError):
    """HTTP 429: the server asks the client to slow down."""


class ServerError(ScannerHTTPError):
    """HTTP 5xx: the server failed."""


class ReplacedError(ScannerHTTPError):
    """HTTP 302: the scan was replaced by a rescan; ``new_scan_id`` is the replacement."""

    def __init__(self, method: str, url: str, old_scan_id: str, new_scan_id: str, location: str) -> None:
        self.old_scan_id = old_scan_id
        self.new_scan_id = new_scan_id
        self.location = location
        super().__init__(method, url, 302, 302, f"scan {old_scan_id} was replaced by {new_scan_id}")


class ScanWaitError(ScannerError):
    """Base class of the failures of :meth:`SkyDriverClient.wait_for_final_result`."""

    def __init__(self, scan_id: str, scan_state: str | None, message: str) -> None:
        self.scan_id = scan_id
        self.scan_state = scan_state
        super().__init__(f"scan {scan_id} ({scan_state or 'state unknown'}): {message}")


class ScanEndedWithoutResultError(ScanWaitError):
    """The scan stopped (``ABORTED__*`` / ``FINISHED__*`` or deleted) with no final result."""


class ScanStalledError(ScanWaitError):
    """The scan's progress did not change for longer than the stall timeout."""


class ScanWaitTimeoutError(ScanWaitError):
    """The overall wait timeout elapsed before the final result arrived."""


def error_for_status(method: str, url: str, status: int, code: int | None, message: str) -> ScannerHTTPError:
    """The exception class that matches an HTTP error status."""
    cls: type[ScannerHTTPError]
    if status == 400:
        cls = BadRequestError
    elif status in (401, 403):
        cls = AuthError
    elif status == 404:
        cls = NotFoundError
    elif status == 422:
        cls = UnprocessableError
    elif status == 429:
        cls = RateLimitedError
    elif status >= 500:
        cls = ServerError
    else:
        cls = ScannerHTTPError
    return cls(method, url, status, code, message)
