"""What a setting allows, in words, and a rejected setting as one line.

The limits are the settings' own pydantic constraints (``Field(ge=..., le=...)``, ``Literal`` choices,
patterns, lengths) and their unit, read from the field, so what ``skymist config`` shows, what the
example file says and what an error names are the constraints that are enforced. The unit is the
field's ``json_schema_extra={"unit": ...}`` or follows from the name's suffix (``_s``: seconds,
``_ms``: milliseconds, ``_deg``: degrees, ``_bytes``: bytes, ``_free``: a fraction, ``port``: a TCP
port, ``_per_minute``: per minute).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

#: units that follow from a setting's name
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_ms", "milliseconds"),
    ("_s", "seconds"),
    ("_deg", "degrees"),
    ("_bytes", "bytes"),
    ("_free", "a fraction: 0.05 is 5%"),
    ("_per_minute", "per minute"),
    ("port", "a TCP port"),
)

#: longest shown value of a rejected setting
_SHOWN_MAX = 120


def unit_of(name: str, info: FieldInfo) -> str | None:
    """The unit of a setting: ``json_schema_extra["unit"]`` or the one its name's suffix implies."""
    extra = info.json_schema_extra
    if isinstance(extra, Mapping) and isinstance(extra.get("unit"), str):
        return str(extra["unit"])
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return None


def _said(info: FieldInfo) -> str | None:
    """What a field says it allows in words (``json_schema_extra={"allowed": ...}``), e.g. for a
    pattern that is hard to read."""
    extra = info.json_schema_extra
    if isinstance(extra, Mapping) and isinstance(extra.get("allowed"), str):
        return str(extra["allowed"])
    return None


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bounds(metadata: Iterable[Any]) -> str | None:
    low = high = None
    for item in metadata:
        for attr, sign in (("gt", ">"), ("ge", ">=")):
            if getattr(item, attr, None) is not None:
                low = (sign, getattr(item, attr))
        for attr, sign in (("lt", "<"), ("le", "<=")):
            if getattr(item, attr, None) is not None:
                high = (sign, getattr(item, attr))
    if low and high:
        if low[0] == ">=" and high[0] == "<=":
            return f"from {_number(low[1])} to {_number(high[1])}"
        return f"{low[0]} {_number(low[1])} and {high[0]} {_number(high[1])}"
    if low:
        return f"{low[0]} {_number(low[1])}"
    if high:
        return f"{high[0]} {_number(high[1])}"
    return None


def _text_limits(metadata: Iterable[Any]) -> list[str]:
    limits = []
    for item in metadata:
        if getattr(item, "pattern", None):
            limits.append(f"matching {item.pattern}")
        if getattr(item, "min_length", None):
            limits.append(f"at least {item.min_length} long")
        if getattr(item, "max_length", None):
            limits.append(f"at most {item.max_length} long")
    return limits


def _kind(annotation: Any, metadata: list[Any]) -> str:
    """The allowed values of one (non-optional) type with its constraints, in words."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _annotated_kind(annotation, metadata)
    if origin is Literal:
        choices = [repr(choice) for choice in typing.get_args(annotation)]
        return "one of " + ", ".join(choices)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(repr(member.value) for member in annotation)
    simple = _simple_kind(annotation, metadata)
    if simple is not None:
        return simple
    if origin is list:
        (item,) = typing.get_args(annotation)
        each = _kind(item, [])
        return f"a list, each {each}" if each.startswith(("a ", "an ")) else f"a list of {each}"
    if origin is dict:
        return "a table (in the environment: a JSON object)"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"a table of {', '.join(annotation.model_fields)}"
    return getattr(annotation, "__name__", str(annotation))


def _annotated_kind(annotation: Any, metadata: list[Any]) -> str:
    """``Annotated[T, ...]``: T's words with the constraints the annotation adds."""
    inner, *more = typing.get_args(annotation)
    for item in more:  # Field(...) inside Annotated carries its constraints in its own metadata
        if isinstance(item, FieldInfo) and _said(item):
            return str(_said(item))
        metadata = [*metadata, *(item.metadata if isinstance(item, FieldInfo) else [item])]
    return _kind(inner, metadata)


def _simple_kind(annotation: Any, metadata: list[Any]) -> str | None:
    """The words for bool, int, float, str, a secret or a path (None: another type)."""
    if annotation is bool:
        return "true or false"
    if annotation in (int, float):
        word = "a whole number" if annotation is int else "a number"
        bounds = _bounds(metadata)
        return f"{word} {bounds}" if bounds else word
    if annotation is str:
        limits = _text_limits(metadata)
        return "text " + ", ".join(limits) if limits else "text"
    if annotation is SecretStr:
        return "text (a secret: shown masked)"
    if annotation is Path:
        return "a path"
    return None


def allowed(name: str, info: FieldInfo) -> str:
    """What a setting allows, e.g. ``a number > 0 (seconds)`` or ``none, or a whole number from 1 to
    65535 (a TCP port)``."""
    annotation = info.annotation
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        annotation = members[0] if len(members) == 1 else annotation
    text = _said(info) or _kind(annotation, list(info.metadata))
    unit = unit_of(name, info)
    if unit and annotation in (int, float):
        text += f" ({unit})"
    return f"none, or {text}" if optional else text


def error_line(exc: ValidationError, model: type[BaseModel], hidden: Iterable[str] = ()) -> str:
    """A rejected setting (or several) as one line: each names the setting, the value given (never a
    secret's, nor one of ``hidden``) and what is allowed. A relation between settings (a model
    validator) is its own message, which names the settings."""
    never_shown = set(hidden) | {
        name for name, info in model.model_fields.items() if "SecretStr" in str(info.annotation)
    }
    parts = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        message = " ".join(error["msg"].removeprefix("Value error, ").split())
        if not loc:
            parts.append(f"settings: {message}")
            continue
        name = str(loc[0])
        field = ".".join(str(part) for part in loc)
        shown = ""
        if error["type"] != "missing" and name not in never_shown:
            value = repr(error.get("input"))
            shown = " = " + (value if len(value) <= _SHOWN_MAX else value[: _SHOWN_MAX - 3] + "...")
        info = model.model_fields.get(name)
        # a validator's own message (type value_error) says what is expected
        own = error["type"] == "value_error"
        limits = f"; allowed: {allowed(name, info)}" if info is not None and len(loc) == 1 and not own else ""
        if error["type"] == "extra_forbidden":
            message, limits = "no such setting (see `config` for the list)", ""
        parts.append(f"setting {field}{shown}: {message[:1].lower()}{message[1:]}{limits}")
    return "; ".join(parts)
