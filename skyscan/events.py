"""What the scanner needs from an i3live realtime event message, read and checked once.

The message is the object IceCube's realtime system sends north (``_id, service, varname, value, prio,
time, insert_time``). The scanner needs the event's identity (``value.data.run_id``/``event_id``), its
type (``value.streams[0]``, e.g. ``neutrino``), its time (``value.data.eventtime``, UTC without a zone
suffix) and, for the approximate reco, the online SplineMPE direction (``value.data.reco.splinempe``:
``zen``, ``azi``, ``cr_zen``, ``cr_azi`` in radians, detector frame). The detector frames
(``value.data.frames``) are IceTray-serialised and are not read here.

Every error names the field (as a dotted path) and the offending value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skymist.coords import modified_julian_date

#: the online reconstruction whose direction the scanner seeds from (IceCube's realtime alerts use SplineMPE)
ONLINE_RECO_KEY = "splinempe"


class EventFormatError(ValueError):
    """The event message lacks a field the scanner needs, or the field's value is unusable."""


@dataclass(frozen=True)
class OnlineDirection:
    """The online reconstruction's direction in the detector frame, radians (where the muon came FROM)."""

    reco: str
    zenith: float
    azimuth: float
    zenith_error: float  # cr_zen
    azimuth_error: float  # cr_azi


@dataclass(frozen=True)
class ScanEvent:
    """The typed view of an event message, as much as the scanner uses."""

    run_id: int
    event_id: int
    event_type: str
    event_time: dt.datetime  # aware, UTC
    mjd: float
    realtime_format_version: str
    online: OnlineDirection | None

    @classmethod
    def from_message(cls, message: Mapping[str, Any] | str) -> ScanEvent:
        """Read an i3live message (the top-level object, or its JSON text)."""
        if isinstance(message, str):
            try:
                message = json.loads(message)
            except json.JSONDecodeError as exc:
                raise EventFormatError(f"event: not valid JSON ({exc})") from exc
        top = _mapping(message, "event")
        value = _mapping(_field(top, "value", "event"), "value")
        data = _mapping(_field(value, "data", "value"), "value.data")
        event_time = parse_event_time(_field(data, "eventtime", "value.data"))
        return cls(
            run_id=_positive_int(_field(data, "run_id", "value.data"), "value.data.run_id"),
            event_id=_non_negative_int(_field(data, "event_id", "value.data"), "value.data.event_id"),
            event_type=_event_type(value),
            event_time=event_time,
            mjd=modified_julian_date(event_time),
            realtime_format_version=str(value.get("version", "")),
            online=_online_direction(data),
        )

    def require_online(self) -> OnlineDirection:
        """The online direction, or an error saying where it was looked for."""
        if self.online is None:
            raise EventFormatError(
                f"value.data.reco.{ONLINE_RECO_KEY}: missing; run {self.run_id} event {self.event_id} has no "
                f"online direction"
            )
        return self.online


def parse_event_time(raw: object) -> dt.datetime:
    """``value.data.eventtime`` ('2023-12-02 17:08:24.093230', UTC) as an aware datetime."""
    if not isinstance(raw, str):
        raise EventFormatError(
            f"value.data.eventtime: expected a 'YYYY-MM-DD HH:MM:SS[.ffffff]' string, got {raw!r}"
        )
    try:
        parsed = dt.datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise EventFormatError(f"value.data.eventtime: not a date-time: {raw!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _field(container: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in container:
        raise EventFormatError(f"{where}.{key}: missing (keys present: {sorted(container)[:20]})")
    return container[key]


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        shown = repr(value)[:80]
        raise EventFormatError(f"{where}: expected an object, got {type(value).__name__} {shown}")
    return value


def _positive_int(value: object, where: str) -> int:
    number = _non_negative_int(value, where)
    if number == 0:
        raise EventFormatError(f"{where}: must be positive, got {value!r}")
    return number


def _non_negative_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EventFormatError(f"{where}: expected a non-negative integer, got {value!r}")
    return value


def _event_type(value: Mapping[str, Any]) -> str:
    streams = value.get("streams")
    if isinstance(streams, list) and streams and isinstance(streams[0], str) and streams[0]:
        return streams[0]
    topics = value.get("zmqnotify", {}).get("topics") if isinstance(value.get("zmqnotify"), Mapping) else None
    if isinstance(topics, list) and topics and isinstance(topics[0], str) and topics[0]:
        return topics[0]
    raise EventFormatError(f"value.streams: expected a non-empty list of stream names, got {streams!r}")


def _finite(container: Mapping[str, Any], key: str, where: str) -> float:
    raw = container.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise EventFormatError(f"{where}.{key}: expected a finite number (radians), got {raw!r}")
    return float(raw)


def _online_direction(data: Mapping[str, Any]) -> OnlineDirection | None:
    recos = data.get("reco")
    if recos is None:
        return None
    recos = _mapping(recos, "value.data.reco")
    if ONLINE_RECO_KEY not in recos:
        return None
    where = f"value.data.reco.{ONLINE_RECO_KEY}"
    fit = _mapping(recos[ONLINE_RECO_KEY], where)
    zenith = _finite(fit, "zen", where)
    if not 0.0 <= zenith <= math.pi:
        raise EventFormatError(f"{where}.zen: must lie in [0, pi] radians, got {zenith!r}")
    errors = {key: _finite(fit, key, where) for key in ("cr_zen", "cr_azi")}
    for key, err in errors.items():
        if err < 0.0:
            raise EventFormatError(f"{where}.{key}: an uncertainty cannot be negative, got {err!r}")
    return OnlineDirection(
        reco=ONLINE_RECO_KEY,
        zenith=zenith,
        azimuth=_finite(fit, "azi", where),
        zenith_error=errors["cr_zen"],
        azimuth_error=errors["cr_azi"],
    )
