"""Recognise a raw message's kind and turn it into a typed model, or say exactly what is wrong.

Every failure is an :class:`InputError` whose message names the field (a dotted path) and the
offending value, e.g. ``value.data.run_id: input should be greater than 0 (got -5)``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from skybase.event import ONLINE_RECO_KEY, first_problem, shown
from skybase.json_types import JSONValue
from skymist.ingest.messages import (
    AlertEnvelope,
    GcnNotice,
    MessageKind,
    ParsedMessage,
    RealtimeEvent,
    storable_problem,
)

M = TypeVar("M", bound=BaseModel)


class InputError(ValueError):
    """A message that cannot be turned into an alert. ``field`` is a dotted path or None."""

    def __init__(self, reason: str, field: str | None = None, kind: str | None = None) -> None:
        self.reason = reason
        self.field = field
        self.kind = kind
        super().__init__(f"{field}: {reason}" if field else reason)


def _validation_error(exc: ValidationError, prefix: str, kind: str) -> InputError:
    path, reason = first_problem(exc, prefix.rstrip("."))
    return InputError(reason, path, kind)


def detect_kind(document: Mapping[str, JSONValue]) -> str:
    if "alert" in document and "event" in document:
        return MessageKind.ENVELOPE
    if "mission" in document or "record_number" in document or "$schema" in document:
        return MessageKind.GCN_NOTICE
    if "value" in document:
        return MessageKind.EVENT
    keys = ", ".join(sorted(map(str, document))[:10]) or "none"
    raise InputError(
        "unrecognised message: expected an i3live event ('value'), an alert envelope ('alert' + 'event') "
        f"or a GCN notice ('mission'); top-level keys: {keys}"
    )


def _legacy_hese(value: Mapping[str, JSONValue]) -> bool:
    """IceCube's 2016 HESE message: no ``version``, ``data`` a list of ``[stream letter, base64]`` frames."""
    data = value.get("data")
    return (
        "version" not in value
        and isinstance(data, list)
        and bool(data)
        and all(isinstance(frame, list) and len(frame) == 2 and isinstance(frame[0], str) for frame in data)
    )


def _check_event(event: Mapping[str, JSONValue], prefix: str, versions: Collection[str]) -> None:
    value = event.get("value")
    if not isinstance(value, Mapping):
        return  # the model reports it
    data = value.get("data")
    if _legacy_hese(value):
        raise InputError(
            "legacy realtime message (HESE 2016 format: value.data is a list of IceTray frames, no "
            "value.version): its run and event ids sit inside the frames, which cannot be decoded here; "
            "record it by hand or replay it with ids",
            f"{prefix}value.data",
            MessageKind.EVENT,
        )
    if isinstance(data, Mapping) and "run_id" not in data and "event_id" not in data:
        raise InputError(
            "realtime message without run and event ids (value.data has neither run_id nor event_id)",
            f"{prefix}value.data.run_id",
            MessageKind.EVENT,
        )
    version = value.get("version")
    if versions and version not in versions:
        raise InputError(
            f"unsupported realtime message version {shown(version)} (supported: {', '.join(versions)})",
            f"{prefix}value.version",
            MessageKind.EVENT,
        )


def _validate(model: type[M], document: Mapping[str, JSONValue], prefix: str, kind: str) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise _validation_error(exc, prefix, kind) from None


def _require_online(event: RealtimeEvent, prefix: str) -> None:
    """The prompt position needs the online fit, which the shared model leaves optional."""
    if event.online is None:
        raise InputError(
            "required field is missing", f"{prefix}value.data.reco.{ONLINE_RECO_KEY}", MessageKind.EVENT
        )


def parse_message(raw: bytes, *, supported_versions: Collection[str], max_bytes: int) -> ParsedMessage:
    """Parse one raw message. Raises :class:`InputError` with the field and value at fault."""
    if len(raw) > max_bytes:
        raise InputError(f"message of {len(raw)} bytes is larger than the limit of {max_bytes} bytes")
    if not raw.strip():
        raise InputError("empty message")
    try:
        document = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc}); the message may be truncated") from None
    if not isinstance(document, dict):
        raise InputError(f"top-level JSON is a {type(document).__name__}, expected an object")
    kind = detect_kind(document)
    unstorable = storable_problem(document)
    if unstorable is not None:
        raise InputError(unstorable[1], unstorable[0], kind)
    if kind == MessageKind.ENVELOPE:
        event = document.get("event")
        if isinstance(event, Mapping):
            _check_event(event, "event.", supported_versions)
        envelope = _validate(AlertEnvelope, document, "", kind)
        _require_online(envelope.event, "event.")
        return envelope
    if kind == MessageKind.GCN_NOTICE:
        notice = _validate(GcnNotice, document, "", kind)
        try:
            notice.run_event  # noqa: B018 - validates the id format
        except ValueError as exc:
            raise InputError(str(exc), "id", kind) from None
        return notice
    _check_event(document, "", supported_versions)
    event = _validate(RealtimeEvent, document, "", kind)
    _require_online(event, "")
    return event


def kind_of(message: ParsedMessage) -> str:
    if isinstance(message, AlertEnvelope):
        return MessageKind.ENVELOPE
    if isinstance(message, GcnNotice):
        return MessageKind.GCN_NOTICE
    return MessageKind.EVENT
