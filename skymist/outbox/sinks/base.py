"""The sink interface and the plain-data view of an outbox row that sinks work with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row, detached from the session (sending happens outside transactions)."""

    id: int
    sink: str
    destination: str
    product: str
    idempotency_key: str
    payload: bytes
    content_type: str
    message_key: bytes | None
    verify_hint: dict[str, Any] | None
    in_doubt: bool


@dataclass(frozen=True)
class SendResult:
    ok: bool
    delivery_ref: str | None = None
    error: str | None = None
    permanent: bool = False  # the sink will never accept it (e.g. 400 invalid_payload): go dead at once
    undecided: bool = False  # the outcome is unknown (timeout after sending): verify before any resend
    #: the sink asks to wait this long before the row is tried again (HTTP 429 Retry-After, or a batch
    #: held back after the sink stopped answering); such a try does not count as an attempt
    retry_after_s: float | None = None
    #: the sink stopped answering: do not call it again for this long (a row sent alone must not
    #: cost one timeout per row while Slack hangs); the try counts as an attempt
    pause_sink_s: float | None = None


class Sink(Protocol):
    name: str

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        """What to record before sending so an in-doubt send can be verified later (or None)."""

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        """Send every item; one result per item, in order. Must not raise for a per-item failure."""

    def verify(self, item: OutboxItem) -> bool | None:
        """Was this in-doubt item delivered? True/False, or None when the sink cannot tell."""

    def close(self) -> None: ...
