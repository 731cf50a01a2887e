"""The one error type of the service's routes: answered as ``{"code": status, "error": message}``."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered to the client with HTTP ``status`` and the message ``message``."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"HTTP {status}: {message}")


def not_found(scan_id: str, what: str = "scan") -> ApiError:
    return ApiError(404, f"no {what} found with id '{scan_id}'")
