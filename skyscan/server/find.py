"""A MongoDB-style filter over manifests, for ``POST /scans/find``.

Supported: dotted paths with implicit equality, ``$eq $ne $gt $gte $lt $lte $in $nin $exists``,
and ``$and $or $nor`` lists (nested at most :data:`MAX_DEPTH` deep). Anything else is refused
with a message naming it, by :func:`check`, before any manifest is looked at: the answer to a
filter never depends on what the store holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from skybase.json_types import JSONValue

_MISSING: Final = object()
#: how deep ``$and``/``$or``/``$nor`` lists may nest
MAX_DEPTH: Final = 32
LOGICAL: Final = ("$and", "$or", "$nor")


def _get(doc: JSONValue, dotted: str) -> JSONValue:
    value = doc
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _equal(value: JSONValue, wanted: JSONValue) -> bool:
    if isinstance(value, list) and not isinstance(wanted, list):
        return any(_equal(v, wanted) for v in value)
    if isinstance(value, bool) != isinstance(wanted, bool):
        return False
    return bool(value == wanted)


def _ordered(op: Callable[[JSONValue, JSONValue], bool]) -> Callable[[JSONValue, JSONValue], bool]:
    def compare(value: JSONValue, wanted: JSONValue) -> bool:
        if value is _MISSING or value is None or isinstance(value, bool) or isinstance(wanted, bool):
            return False
        try:
            return op(value, wanted)
        except TypeError:
            return False

    return compare


def _in(value: JSONValue, wanted: JSONValue) -> bool:
    if not isinstance(wanted, list):
        raise ValueError(f"filter: $in/$nin need a list (got {wanted!r})")
    return any(_equal(value, w) for w in wanted)


_OPERATORS: Final[dict[str, Callable[[JSONValue, JSONValue], bool]]] = {
    "$eq": lambda v, w: v is not _MISSING and _equal(v, w),
    "$ne": lambda v, w: v is _MISSING or not _equal(v, w),
    "$gt": _ordered(lambda v, w: v > w),
    "$gte": _ordered(lambda v, w: v >= w),
    "$lt": _ordered(lambda v, w: v < w),
    "$lte": _ordered(lambda v, w: v <= w),
    "$in": lambda v, w: v is not _MISSING and _in(v, w),
    "$nin": lambda v, w: v is _MISSING or not _in(v, w),
    "$exists": lambda v, w: (v is not _MISSING) == bool(w),
}


def _is_operators(condition: JSONValue) -> bool:
    """A condition made of operators (``{"$gt": 1}``) rather than a value to equal."""
    return (
        isinstance(condition, Mapping) and bool(condition) and all(str(k).startswith("$") for k in condition)
    )


def check(query: Mapping[str, JSONValue], depth: int = 0) -> None:
    """Raise :class:`ValueError` naming what :func:`matches` could not evaluate in ``query``."""
    if depth > MAX_DEPTH:
        raise ValueError(f"filter: $and/$or/$nor nested more than {MAX_DEPTH} deep")
    for key, condition in query.items():
        if key in LOGICAL:
            if not isinstance(condition, list) or not all(isinstance(c, Mapping) for c in condition):
                raise ValueError(f"filter: {key} needs a list of filters (got {condition!r:.100})")
            for inner in condition:
                check(inner, depth + 1)
            continue
        if key.startswith("$"):
            raise ValueError(f"filter: unsupported operator {key!r}")
        if _is_operators(condition):
            for op, wanted in condition.items():
                if op not in _OPERATORS:
                    raise ValueError(f"filter: unsupported operator {op!r} on {key!r}")
                if op in ("$in", "$nin") and not isinstance(wanted, list):
                    raise ValueError(f"filter: $in/$nin need a list (got {wanted!r:.100})")


def matches(doc: Mapping[str, JSONValue], query: Mapping[str, JSONValue]) -> bool:
    """Whether ``doc`` satisfies the filter ``query``."""
    for key, condition in query.items():
        if key in LOGICAL:
            ok = _logical(doc, key, condition)
        elif key.startswith("$"):
            raise ValueError(f"filter: unsupported operator {key!r}")
        else:
            ok = _field_matches(_get(doc, key), key, condition)
        if not ok:
            return False
    return True


def _logical(doc: Mapping[str, JSONValue], key: str, condition: JSONValue) -> bool:
    """``$and``, ``$or`` or ``$nor`` of the filters listed in ``condition``."""
    if not isinstance(condition, list) or not all(isinstance(c, Mapping) for c in condition):
        raise ValueError(f"filter: {key} needs a list of filters (got {condition!r})")
    results = [matches(doc, c) for c in condition]
    return all(results) if key == "$and" else any(results) if key == "$or" else not any(results)


def _field_matches(value: JSONValue, key: str, condition: JSONValue) -> bool:
    """Whether one field's ``value`` (or :data:`_MISSING`) meets its condition."""
    if _is_operators(condition):
        for op, wanted in condition.items():
            if op not in _OPERATORS:
                raise ValueError(f"filter: unsupported operator {op!r} on {key!r}")
            if not _OPERATORS[op](value, wanted):
                return False
        return True
    return value is not _MISSING and _equal(value, condition)
