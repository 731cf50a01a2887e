"""The state-machine helper every component uses: an enum plus the table of allowed transitions.

A transition missing from the table is a bug: :func:`checked` raises
:class:`IllegalTransitionError`, naming the machine, the subject and both states.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

S = TypeVar("S", bound=enum.Enum)


class IllegalTransitionError(RuntimeError):
    """A state change that the machine's transitions table does not allow."""


def checked(table: Mapping[S, frozenset[S]], current: S, new: S, subject: str = "") -> S:
    """``new`` if ``table`` allows ``current -> new``; :class:`IllegalTransitionError` otherwise."""
    if new not in table[current]:
        who = f"{subject}: " if subject else ""
        raise IllegalTransitionError(
            f"{who}{type(current).__name__}: {current.value!r} -> {new.value!r} is not allowed"
        )
    return new
