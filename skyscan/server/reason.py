"""The error message in the HTTP reason phrase (``HTTP/1.1 400 the following arguments ...``).

SkyDriver (Tornado) answers errors with the message as the reason phrase, and clients built on
``requests.raise_for_status`` show only that line. ASGI has no field for a reason phrase, so an
error response names it in the private header :data:`REASON_HEADER`; :class:`ReasonPhrase`
removes the header and, when it wraps the whole app directly under uvicorn's h11 protocol
(``http="h11"``, as ``skyscan serve`` runs it), has the status line written with it. Under any
other server the header is just removed and the standard phrase is sent (the body still carries
the message).
"""

from __future__ import annotations

import re
from typing import Any, Final

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REASON_HEADER: Final = b"x-skyscan-reason"
_UNPRINTABLE: Final = re.compile(r"[^\x20-\x7e]")


def phrase(text: str, limit: int = 400) -> bytes:
    """``text`` as a safe reason phrase: printable ASCII, one line, at most ``limit`` characters."""
    return _UNPRINTABLE.sub("?", text)[:limit].encode("ascii")


class _ReasonConnection:
    """An h11 connection that writes the next response's status line with ``reason``."""

    def __init__(self, conn: h11.Connection, reason: bytes) -> None:
        self._conn = conn
        self._reason = reason

    def send(self, event: Any) -> bytes | None:
        if isinstance(event, h11.Response):
            event = h11.Response(status_code=event.status_code, headers=event.headers, reason=self._reason)
        sent: bytes | None = self._conn.send(event)
        return sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class ReasonPhrase:
    """ASGI middleware: applies the reason phrase an error response asks for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_reason(message: Message) -> None:
            if message["type"] != "http.response.start":
                await send(message)
                return
            headers = list(message.get("headers", []))
            reasons = [value for name, value in headers if name.lower() == REASON_HEADER]
            if not reasons:
                await send(message)
                return
            message = {**message, "headers": [(n, v) for n, v in headers if n.lower() != REASON_HEADER]}
            cycle = getattr(send, "__self__", None)
            conn = getattr(cycle, "conn", None)
            if not isinstance(conn, h11.Connection):
                await send(message)
                return
            cycle.conn = _ReasonConnection(conn, reasons[-1])  # type: ignore[union-attr]
            try:
                await send(message)
            finally:
                cycle.conn = conn  # type: ignore[union-attr]

        await self.app(scope, receive, send_with_reason)
