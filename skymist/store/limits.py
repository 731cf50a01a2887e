"""What the store's columns can hold, read from the schema itself (one place for every check).

The limits are derived from the SQLAlchemy column types of :mod:`skymist.store.models`, so a
migration that changes a column (and the model with it) changes the check at the boundary too:
``String(n)`` gives a length, ``Integer``/``BigInteger`` a range. PostgreSQL text refuses the NUL
character and text that is not UTF-8 (lone surrogates), whatever the column.

:func:`storable_text` makes any text fit a column (for the store's own words about bad input: a
dead letter's reason must be storable even when the input was not).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, SmallInteger, String

from skymist.store.models import Alert, AlertRevision, DeadLetter, InboxMessage

_INT_BITS = ((BigInteger, 64), (SmallInteger, 16), (Integer, 32))

#: characters PostgreSQL text refuses: NUL, and UTF-16 surrogates (not encodable as UTF-8)
UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class IntRange:
    """The integers a column holds (both ends included)."""

    column: str
    low: int
    high: int

    def problem(self, value: int) -> str | None:
        if self.low <= value <= self.high:
            return None
        return f"{value} does not fit the store's {self.column} (from {self.low} to {self.high})"


@dataclass(frozen=True)
class TextLimit:
    """The longest text a column holds (characters)."""

    column: str
    max_chars: int

    def problem(self, value: str) -> str | None:
        if len(value) <= self.max_chars:
            return None
        return f"{len(value)} characters is longer than the store's {self.column} ({self.max_chars} at most)"


def _column(attribute: Any) -> Column[Any]:
    column = attribute.property.columns[0]
    assert isinstance(column, Column)
    return column


def int_range(attribute: Any) -> IntRange:
    """The range of an integer column (``Model.attribute``)."""
    column = _column(attribute)
    for kind, bits in _INT_BITS:
        if isinstance(column.type, kind):
            return IntRange(f"{column.table.name}.{column.name}", -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    raise TypeError(f"{column.table.name}.{column.name} is not an integer column")


def text_limit(attribute: Any) -> TextLimit:
    """The length limit of a ``String(n)`` column (``Model.attribute``)."""
    column = _column(attribute)
    if not isinstance(column.type, String) or column.type.length is None:
        raise TypeError(f"{column.table.name}.{column.name} is not a String(n) column")
    return TextLimit(f"{column.table.name}.{column.name}", column.type.length)


def unstorable_character(text: str) -> str | None:
    """The first character of ``text`` that PostgreSQL text refuses, as an escape (``\\x00``), or None."""
    found = UNSTORABLE_CHARACTERS.search(text)
    if found is None:
        return None
    return found.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def storable_text(text: str, max_chars: int | None = None) -> str:
    """``text`` with unstorable characters escaped, cut to ``max_chars`` (marked with ``...``)."""
    clean = UNSTORABLE_CHARACTERS.sub(
        lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text
    )
    if max_chars is not None and len(clean) > max_chars:
        clean = clean[: max(0, max_chars - 3)] + "..."
    return clean


@dataclass(frozen=True)
class StoreLimits:
    """The limits of every column an input value reaches."""

    run_id: IntRange
    event_id: IntRange
    revision: IntRange
    alert_name: TextLimit
    message_version: TextLimit
    dead_letter_field: TextLimit
    inbox_partition: IntRange
    inbox_offset: IntRange


@functools.cache
def store_limits() -> StoreLimits:
    """The limits, read from the models (the models are the schema Alembic migrates to); no I/O."""
    return StoreLimits(
        run_id=int_range(Alert.run_id),
        event_id=int_range(Alert.event_id),
        revision=int_range(AlertRevision.revision),
        alert_name=text_limit(Alert.name),
        message_version=text_limit(AlertRevision.message_version),
        dead_letter_field=text_limit(DeadLetter.field),
        inbox_partition=int_range(InboxMessage.partition),
        inbox_offset=int_range(InboxMessage.offset),
    )
