"""Errors raised for input that the skymap library cannot use.

Every message names the source, the field and the offending value, so a dead-letter row or a
shifter's terminal says exactly what to fix.
"""

from __future__ import annotations

__all__ = ["LocalizationError", "SkymapInputError"]

_MAX_VALUE_CHARS = 120


def _short_repr(value: object) -> str:
    text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


class SkymapInputError(ValueError):
    """A scan result (or an argument) that is malformed: names the field and the bad value."""

    def __init__(self, source: str, field: str, value: object, reason: str) -> None:
        self.source = source
        self.field = field
        self.value = value
        self.reason = reason
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field} = {_short_repr(value)}: {reason}")


class LocalizationError(ValueError):
    """A final scan result that cannot become a localization of its alert."""
