"""The one error type of the service's routes: answered as ``{"code": status, "error": message}``,
with the message as the HTTP reason phrase too (as SkyDriver's Tornado server does), unless the
error names another ``reason`` (SkyDriver answers plain ``404 Not Found`` for a missing scan)."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered to the client with HTTP ``status`` and the message ``message``."""

    def __init__(self, status: int, message: str, *, reason: str | None = None) -> None:
        self.status = status
        self.message = message
        self.reason = message if reason is None else reason
        super().__init__(f"HTTP {status}: {message}")


def not_found(scan_id: str, what: str = "scan") -> ApiError:
    return ApiError(404, f"no {what} found with id '{scan_id}'", reason="Not Found")
