"""The handler registry: which function handles each kind of parsed message.

The registry is part of the application object (:attr:`skymist.app.App.message_handlers`), empty
when the platform is opened; the alert lifecycle (:mod:`skymist.runtime.lifecycle`) registers its
handlers; nothing registers by being imported. The ingest step only looks handlers up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from skymist.config import Settings
from skymist.rendering import Renderer

M = TypeVar("M", bound=BaseModel)


@dataclass
class HandlerContext:
    """What a handler may use: the open transaction, settings, the renderer, the clock, the source."""

    session: Session
    settings: Settings
    renderer: Renderer
    now: dt.datetime
    inbox_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What a handler did with a message."""

    status: Literal["created", "updated", "duplicate"]
    alert_id: int | None
    revision: int | None
    summary: str
    outbox_rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[HandlerContext, Any], Outcome]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[type[BaseModel], Handler] = {}

    def register(self, model: type[M], handler: Callable[[HandlerContext, M], Outcome]) -> None:
        if model in self._handlers:
            raise RuntimeError(f"a handler for {model.__name__} is already registered")
        self._handlers[model] = handler

    def handle(self, ctx: HandlerContext, message: BaseModel) -> Outcome:
        handler = self._handlers.get(type(message))
        if handler is None:
            raise LookupError(f"no handler is registered for {type(message).__name__}")
        return handler(ctx, message)
