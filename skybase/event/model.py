"""The typed model of IceCube's realtime event message (the "i3live" format), read once for everyone.

The message is the object IceCube's realtime system sends north: ``_id, service, varname, value,
prio, time, insert_time``; ``value`` holds ``version`` (2021a, 2023a, 2024a), ``streams`` and
``data``: the event's identity (``run_id``, ``event_id``), its time (``eventtime``, UTC without a
zone suffix), the online reconstructions (``reco.splinempe``: ``zen``, ``azi`` in radians in the
detector frame, the direction the muon came FROM, with ``cr_zen``/``cr_azi`` uncertainties), the
cleaned-pulse counts and the IceTray frames (``frames``; read by :mod:`skybase.i3` where present).

Types are strict: a number written as a string, or a boolean where a number belongs, is refused.
Unknown extra keys are kept (the message carries far more than is read here). Every error names
the field as a dotted path and the offending value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skybase.event.errors import EventFormatError, format_error
from skybase.times import TimeFormatError, modified_julian_date, parse_utc

#: the online reconstruction whose direction the prompt notice and the scanner's seed come from
ONLINE_RECO_KEY = "splinempe"

#: run numbers of real detector data (simulation uses others)
REAL_RUN_RANGE = range(100_000, 1_000_000)

#: the detector's run and event numbers are unsigned 32-bit integers (IceTray's I3EventHeader)
ID_LIMIT = 2**32

#: the first IceCube string was deployed in January 2005: no event is older
DETECTOR_START = dt.datetime(2005, 1, 1, tzinfo=dt.UTC)

#: how far in the future an event time may lie (clocks of the sender and of this machine differ)
CLOCK_SKEW = dt.timedelta(days=1)

#: characters no text of a message may hold: NUL and UTF-16 surrogates (no store or UTF-8 encoder
#: takes them; PostgreSQL text refuses both)
_FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def _escaped(text: str) -> str:
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")


def forbidden_text(
    document: object, path: str = "", max_key_chars: int | None = None
) -> tuple[str, str] | None:
    """(dotted path, reason) of the first key or text in ``document`` holding a NUL or a surrogate
    (or a key longer than ``max_key_chars``)."""
    stack: list[tuple[str, object]] = [(path, document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            found = _FORBIDDEN_CHARACTERS.search(value)
            if found is not None:
                return where, f"text holds the character {_escaped(found.group())}, which no store accepts"
        elif isinstance(value, Mapping):
            for key, item in value.items():
                name = str(key)
                inside = f"{where}.{name}" if where else name
                found = _FORBIDDEN_CHARACTERS.search(name)
                if found is not None:
                    return (
                        _escaped(inside)[:200],
                        f"key holds the character {_escaped(found.group())}, which no store accepts",
                    )
                if max_key_chars is not None and len(name) > max_key_chars:
                    return (
                        f"{where}.{name[:40]}..." if where else f"{name[:40]}...",
                        f"key of {len(name)} characters is longer than {max_key_chars} characters",
                    )
                stack.append((inside, item))
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}.{index}", item) for index, item in enumerate(value))
    return None


def check_text(document: object) -> object:
    """Before-validator of a whole message: no key or text may hold a NUL or a surrogate."""
    problem = forbidden_text(document)
    if problem is not None:
        raise ValueError(f"{problem[0]}: {problem[1]}")
    return document


def utc_from_text(value: object) -> object:
    """Before-validator: IceCube's UTC text ('2022-05-24 07:41:32.185352') as an aware datetime."""
    if isinstance(value, str):
        try:
            return parse_utc(value)
        except TimeFormatError as exc:
            raise ValueError(str(exc)) from None
    if isinstance(value, dt.datetime):
        return value
    raise ValueError("expected a UTC date-time text 'YYYY-MM-DD hh:mm:ss[.ffffff]'")


_STRICT = ConfigDict(extra="allow", frozen=True, strict=True)


class OnlineTrackFit(BaseModel):
    """An online track reconstruction (detector frame, radians): the direction the muon came from."""

    model_config = _STRICT

    zen: Annotated[float, Field(ge=0.0, le=math.pi, allow_inf_nan=False)]
    azi: Annotated[float, Field(ge=0.0, le=2.0 * math.pi, allow_inf_nan=False)]
    cr_zen: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    cr_azi: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    #: bootstrap estimate of the fit's angular uncertainty (radians): what GCN's prompt radii scale
    bs_est: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None


class OnlineRecos(BaseModel):
    """The online reconstructions of ``value.data.reco``; only SplineMPE's direction is read."""

    model_config = _STRICT

    splinempe: OnlineTrackFit | None = None


class EventData(BaseModel):
    model_config = _STRICT

    run_id: Annotated[int, Field(gt=0, lt=ID_LIMIT)]
    event_id: Annotated[int, Field(ge=0, lt=ID_LIMIT)]
    eventtime: dt.datetime
    reco: OnlineRecos | None = None
    nch: int | None = None
    npulses: int | None = None
    qtot: Annotated[float, Field(allow_inf_nan=False)] | None = None

    _utc = field_validator("eventtime", mode="before")(utc_from_text)

    @field_validator("eventtime")
    @classmethod
    def _within_detector_life(cls, value: dt.datetime) -> dt.datetime:
        latest = dt.datetime.now(dt.UTC) + CLOCK_SKEW
        if not DETECTOR_START <= value <= latest:
            raise ValueError(
                f"event time {value.isoformat()} is outside the detector's life "
                f"({DETECTOR_START.date().isoformat()} to now)"
            )
        return value


class EventValue(BaseModel):
    model_config = _STRICT

    version: str | None = None
    streams: list[str] = Field(default_factory=list)
    data: EventData


class RealtimeEvent(BaseModel):
    """IceCube's realtime event message ("i3live" format)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, populate_by_name=True)

    id_: str | None = Field(default=None, alias="_id")
    service: str | None = None
    varname: str | None = None
    value: EventValue
    time: dt.datetime | None = None

    _utc = field_validator("time", mode="before")(utc_from_text)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, document: object) -> object:
        return check_text(document)

    @classmethod
    def read(cls, message: Mapping[str, Any] | str | bytes) -> RealtimeEvent:
        """The event of a message (its object, or its JSON text); :class:`EventFormatError` otherwise."""
        if isinstance(message, str | bytes):
            try:
                message = json.loads(message)
            except json.JSONDecodeError as exc:
                raise EventFormatError(f"not valid JSON ({exc})") from None
        if not isinstance(message, Mapping):
            raise EventFormatError(f"expected a JSON object, got {type(message).__name__}")
        try:
            return cls.model_validate(message)
        except ValidationError as exc:
            raise format_error(exc) from None

    @property
    def run_id(self) -> int:
        return self.value.data.run_id

    @property
    def event_id(self) -> int:
        return self.value.data.event_id

    @property
    def event_time(self) -> dt.datetime:
        """``value.data.eventtime`` as an aware UTC datetime."""
        return self.value.data.eventtime

    @property
    def mjd(self) -> float:
        return modified_julian_date(self.event_time)

    @property
    def format_version(self) -> str:
        return self.value.version or ""

    @property
    def is_real_run(self) -> bool:
        """Whether the run number is one of real detector data."""
        return self.run_id in REAL_RUN_RANGE

    @property
    def event_type(self) -> str:
        """The event's stream (``value.streams[0]``, else the first ``zmqnotify`` topic), e.g. neutrino."""
        if self.value.streams and self.value.streams[0]:
            return self.value.streams[0]
        notify = (self.value.model_extra or {}).get("zmqnotify")
        topics = notify.get("topics") if isinstance(notify, Mapping) else None
        if isinstance(topics, list) and topics and isinstance(topics[0], str) and topics[0]:
            return topics[0]
        raise EventFormatError(
            f"expected a non-empty list of stream names (got {self.value.streams!r})", "value.streams"
        )

    @property
    def frames(self) -> Any:
        """``value.data.frames`` as sent (the IceTray frames, read by :mod:`skybase.i3`), None if absent."""
        return (self.value.data.model_extra or {}).get("frames")

    @property
    def online(self) -> OnlineTrackFit | None:
        """The online SplineMPE fit, if the message has one."""
        reco = self.value.data.reco
        return reco.splinempe if reco is not None else None

    def require_online(self) -> OnlineTrackFit:
        """The online fit, or an error naming where it was looked for."""
        online = self.online
        if online is None:
            raise EventFormatError("required field is missing", f"value.data.reco.{ONLINE_RECO_KEY}")
        return online
