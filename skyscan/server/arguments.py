"""Request arguments read the way SkyDriver v2.4.1 reads them, with its error texts.

SkyDriver parses a JSON body as command-line options: each given key is converted in the order
the client sent them (the first bad one is answered ``argument <name>: <why>``), then missing
required keys are answered ``the following arguments are required: a, b`` (in declaration
order), then unknown keys ``unrecognized arguments: x, y``. Aliases of one setting share a
``dest``; giving two of them is refused by the caller (:func:`one_value`).

Every converter raises :class:`Invalid` with the reason only; the parser adds the name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from skybase import scan_requests
from skybase.json_types import JSONObject, JSONValue
from skyscan.server.errors import ApiError

#: PostgreSQL ``integer`` bounds (the store's priority column)
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
#: the largest data size accepted (bytes): 2**63 - 1, what any scheduler field can hold
MAX_SIZE_BYTES: Final = 2**63 - 1

#: the converted values given, per ``dest``: ``[(name given, value), ...]`` in body order
Given: TypeAlias = dict[str, list[tuple[str, JSONValue]]]


class Invalid(ValueError):  # noqa: N818 - reads as "raise Invalid(why)"
    """A value refused by a converter; the message says why (without the argument's name)."""


@dataclass(frozen=True)
class Arg:
    """One accepted key: ``convert`` checks and normalises its value."""

    name: str
    convert: Callable[[JSONValue], JSONValue]
    required: bool = False
    dest: str = ""

    @property
    def target(self) -> str:
        return self.dest or self.name


def parse(body: Mapping[str, JSONValue], args: Sequence[Arg]) -> Given:
    """The converted values given, per ``dest``: ``[(name given, value), ...]`` in body order."""
    by_name = {arg.name: arg for arg in args}
    given: Given = {}
    unknown: list[str] = []
    for key, raw in body.items():
        arg = by_name.get(key)
        if arg is None:
            unknown.append(key)
            continue
        try:
            value = arg.convert(raw)
        except Invalid as exc:
            raise ApiError(400, f"argument {key}: {exc}") from None
        given.setdefault(arg.target, []).append((key, value))
    missing = [arg.name for arg in args if arg.required and arg.name not in body]
    if missing:
        raise ApiError(400, f"the following arguments are required: {', '.join(missing)}")
    if unknown:
        raise ApiError(400, f"unrecognized arguments: {', '.join(unknown)}")
    return given


def one_value(
    given: Mapping[str, list[tuple[str, JSONValue]]], dest: str, default: JSONValue = None
) -> JSONValue:
    """The single value given for ``dest`` (under any of its names), or ``default``."""
    values = given.get(dest, [])
    if len(values) > 1:
        raise ApiError(400, f"Provide only one value for '{dest}'")
    return values[0][1] if values else default


def json_body(raw: bytes) -> JSONObject:
    """The request body as a JSON object; an empty body is ``{}``."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "requests body is not JSON-encoded") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON-encoded requests body must be a 'dict'")
    return body


# ---------------------------------------------------------------------------------- converters


def _shown(value: JSONValue) -> str:
    return repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."


def text(value: JSONValue) -> str:
    """A string; numbers are taken as their text (as SkyDriver's ``str`` does)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Invalid(f"must be a string (got {_shown(value)})")


def nonblank(value: JSONValue) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string (got {_shown(value)})")
    if not re.search(r"\S", value):
        raise Invalid("cannot be empty string / whitespace")
    return value


def storable(value: str, *, longest: int | None = None) -> str:
    """``value`` if the store can hold it as text: no NUL character, valid UTF-8 (no lone
    surrogate), at most ``longest`` characters."""
    if "\x00" in value:
        raise Invalid(f"must not contain NUL characters (got {_shown(value)})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"must be valid Unicode text (got {_shown(value)})") from None
    if longest is not None and len(value) > longest:
        raise Invalid(f"at most {longest} characters (got {len(value)})")
    return value


def printable(value: str) -> str:
    """``value`` as printable ASCII, other characters escaped (``\\x00``, ``\\u00e9``), for a
    command line shown to people and stored as text."""
    return value if value.isascii() and value.isprintable() else ascii(value)[1:-1]


def strict_dict(value: JSONValue) -> JSONObject:
    if not isinstance(value, dict):
        raise Invalid("arg must be a dict")
    return value


def any_dict(value: JSONValue) -> JSONObject:
    if not isinstance(value, dict):
        raise Invalid(f"must be a dict (got {_shown(value)})")
    return value


def boolean(value: JSONValue) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("y", "yes", "t", "true", "on", "1"):
            return True
        if word in ("n", "no", "f", "false", "off", "0"):
            return False
    raise Invalid(f"invalid type: expected a boolean, got {_shown(value)}")


def integer(value: JSONValue, *, low: int = INT32_MIN, high: int = INT32_MAX) -> int:
    """An integer (or the text of one) within ``[low, high]``."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value)
    ):
        number = int(value)
    if number is None:
        raise Invalid(f"invalid type: expected an integer, got {_shown(value)}")
    if not low <= number <= high:
        raise Invalid(f"must be between {low} and {high} (got {_shown(value)})")
    return number


def number(value: JSONValue) -> float:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**308:
        raise Invalid(f"must be a finite number (got {_shown(value)})")
    if isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            raise Invalid(f"invalid type: expected a number, got {_shown(value)}") from None
    else:
        raise Invalid(f"invalid type: expected a number, got {_shown(value)}")
    if not math.isfinite(result):
        raise Invalid(f"must be a finite number (got {_shown(value)})")
    return result


def choice(*allowed: str) -> Callable[[JSONValue], str]:
    def convert(value: JSONValue) -> str:
        if not isinstance(value, str) or value not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise Invalid(f"invalid choice: {_shown(value)} (choose from {options})")
        return value

    return convert


def data_size(value: JSONValue) -> int:
    """Bytes: a positive integer, or a size such as ``"8GB"``/``"1024M"`` (decimal units) or
    ``"2GiB"`` (binary units), at most 2**63 - 1."""
    if isinstance(value, bool):
        raise Invalid(f"invalid data size: {_shown(value)}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(f"invalid data size: {_shown(value)}")
        size = int(value)
    elif isinstance(value, str):
        text_size = scan_requests.size_text_bytes(value)
        if text_size is None:
            raise Invalid(f"invalid data size: {_shown(value)} (e.g. '8GB', '1024M', '2GiB')")
        size = text_size
    else:
        raise Invalid(f"invalid data size: {_shown(value)}")
    if size <= 0:
        raise Invalid(f"must be a positive data size (got {_shown(value)})")
    if size > MAX_SIZE_BYTES:
        raise Invalid(f"data size too large: {_shown(value)} (at most {MAX_SIZE_BYTES} bytes)")
    return size


def projection(value: JSONValue) -> list[str] | None:
    """A manifest projection: ``"*"``, or a list of field names (``"*"`` in it means all);
    ``null`` is no projection (all fields), as if the key were not sent."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise Invalid(f"must be '*' or a list of manifest field names (got {_shown(value)})")
