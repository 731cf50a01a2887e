"""Errors of reading a message: the field at fault as a dotted path, the reason, and the value."""

from __future__ import annotations

from pydantic import ValidationError

_MAX_SHOWN = 80


def shown(value: object) -> str:
    """``repr(value)``, cut to a length that fits in one log line."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class EventFormatError(ValueError):
    """A message lacks a field, or a field's value is unusable. ``field`` is a dotted path or None."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)


def first_problem(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    """(dotted path, reason with the offending value) of the first error pydantic found."""
    first = exc.errors(include_url=False)[0]
    path = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    if first["type"] == "missing":
        return path, "required field is missing"
    if first["type"] == "value_error" and "error" in first.get("ctx", {}):
        message = str(first["ctx"]["error"])  # our own validators' words, without pydantic's prefix
    else:
        message = first["msg"][0].lower() + first["msg"][1:]
    return path, f"{message} (got {shown(first.get('input'))})"


def format_error(exc: ValidationError, prefix: str = "") -> EventFormatError:
    path, reason = first_problem(exc, prefix)
    return EventFormatError(reason, path or None)
