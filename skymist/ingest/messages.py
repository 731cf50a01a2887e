"""Typed models of the three message kinds the realtime topics carry.

- :class:`~skybase.event.RealtimeEvent` (the shared model of :mod:`skybase.event`): IceCube's realtime
  event message ("i3live" format, ``value.version`` 2021a / 2023a / 2024a). On its own it is an
  *unclassified* event: stored, scannable on request, no public products.
- :class:`AlertEnvelope`: ``{"alert": {...classification...}, "event": <i3live message>}``: the same
  event with the realtime classification that makes it a public alert.
- :class:`GcnNotice`: a GCN JSON notice of IceCube's ``single_neutrino_alerts`` schema (mirrored
  public alerts).

Every model forbids what it cannot interpret where it matters (classification, notice) and keeps
unknown extra keys of the i3live message (which carries far more than SkyMist reads).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skybase.event import RealtimeEvent
from skybase.event.model import CLOCK_SKEW, DETECTOR_START, ID_LIMIT, forbidden_text
from skymist.alert_names import alert_name_problem
from skymist.store.limits import store_limits

Stream = Literal["GOLD", "BRONZE", "CASCADE"]

# Physical ranges of a realtime classification. Values outside are not alerts but broken senders.
#: neutrino energy estimates of realtime alerts lie between ~1 TeV and ~100 PeV
ENERGY_TEV_RANGE = (0.1, 1.0e5)
#: a false-alarm rate above one an hour is noise, not an alert (and never 0: no selection is perfect)
MAX_FAR_PER_YEAR = 1.0e4
SECONDS_PER_YEAR = 31_557_600.0


def _energy(value: float) -> float:
    low, high = ENERGY_TEV_RANGE
    if not low <= value <= high:
        raise ValueError(f"energy {value!r} TeV is outside the physical range {low} to {high:g} TeV")
    return value


def _far_per_year(value: float) -> float:
    if not 0.0 < value <= MAX_FAR_PER_YEAR:
        raise ValueError(f"false-alarm rate {value!r} per year must be > 0 and <= {MAX_FAR_PER_YEAR:g}")
    return value


def _revision(value: int) -> int:
    problem = store_limits().revision.problem(value)
    if problem is not None:
        raise ValueError(f"revision {problem}")
    return value


def _within_detector_life(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"time {value.isoformat()} has no time zone (expected UTC, e.g. ...Z)")
    if not DETECTOR_START <= value <= dt.datetime.now(dt.UTC) + CLOCK_SKEW:
        raise ValueError(
            f"time {value.isoformat()} is outside the detector's life "
            f"({DETECTOR_START.date().isoformat()} to now)"
        )
    return value


class AlertClassification(BaseModel):
    """The realtime classification that makes an event a public alert (strict types: no number as
    text, no boolean as a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    stream: Stream
    signalness: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
    far_per_year: Annotated[float, Field(allow_inf_nan=False)]
    energy_tev: Annotated[float, Field(allow_inf_nan=False)]
    revision: Annotated[int, Field(ge=0)] = 0
    err50_deg: Annotated[float, Field(gt=0.0, le=180.0, allow_inf_nan=False)] | None = None
    err90_deg: Annotated[float, Field(gt=0.0, le=180.0, allow_inf_nan=False)] | None = None

    _energy = field_validator("energy_tev")(_energy)
    _far = field_validator("far_per_year")(_far_per_year)
    _rev = field_validator("revision")(_revision)

    @model_validator(mode="after")
    def _radii_ordered(self) -> AlertClassification:
        if self.err50_deg is not None and self.err90_deg is not None and self.err50_deg > self.err90_deg:
            raise ValueError(f"err50_deg {self.err50_deg} is larger than err90_deg {self.err90_deg}")
        return self


class AlertEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alert: AlertClassification
    event: RealtimeEvent


def _iso_time(value: object) -> object:
    """Before-validator: an ISO 8601 text (GCN's ``trigger_time``) as a datetime; nothing else."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an ISO 8601 date-time text, e.g. 2022-05-24T07:41:32.185Z") from None
    if isinstance(value, dt.datetime):
        return value
    raise ValueError("expected an ISO 8601 date-time text, e.g. 2022-05-24T07:41:32.185Z")


class GcnNotice(BaseModel):
    """A GCN notice of IceCube's ``single_neutrino_alerts`` schema (the fields SkyMist reads)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True, strict=True)

    schema_: str | None = Field(default=None, alias="$schema")
    mission: Literal["IceCube"]
    instrument: str | None = None
    pipeline: Literal["Gold Track Alert", "Bronze Track Alert", "Cascade Alert"] | None = None
    record_number: Annotated[int, Field(ge=0)]
    event_name: list[str] | str | None = None
    id: list[str] | str
    alert_type: Literal["initial", "subsequent", "update", "retraction"]
    alert_tense: str | None = None
    ra: Annotated[float, Field(ge=0.0, lt=360.0, allow_inf_nan=False)]
    dec: Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
    ra_dec_error: (
        Annotated[float, Field(gt=0.0, le=180.0, allow_inf_nan=False)]
        | list[Annotated[float, Field(gt=0.0, le=180.0, allow_inf_nan=False)]]
        | None
    ) = None
    trigger_time: dt.datetime
    nu_energy: Annotated[float, Field(allow_inf_nan=False)] | None = None
    p_astro: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    far: Annotated[float, Field(allow_inf_nan=False)] | None = None

    _rev = field_validator("record_number")(_revision)
    _time_text = field_validator("trigger_time", mode="before")(_iso_time)
    _time = field_validator("trigger_time")(_within_detector_life)

    @field_validator("nu_energy")
    @classmethod
    def _nu_energy(cls, value: float | None) -> float | None:
        return None if value is None else _energy(value)

    @field_validator("far")
    @classmethod
    def _far_hz(cls, value: float | None) -> float | None:
        if value is not None:
            _far_per_year(value * SECONDS_PER_YEAR)
        return value

    @field_validator("event_name")
    @classmethod
    def _name_fits(cls, value: list[str] | str | None) -> list[str] | str | None:
        """Every offered name must be a public alert name (``IceCube-YYMMDD`` + capital letters).

        A notice whose name breaks the pattern is a dead letter (naming the field and the value), not
        a mirror under a name of SkyMist's: GCN's schema defines the name, so such a notice is not a
        faithful copy of a public IceCube alert; recording it would give an alert whose identity
        cannot be trusted, and naming it ourselves would take a letter of the day from IceCube's own
        sequence. The dead letter keeps the raw bytes, the shifters are told, and ``skymist
        dead-letter replay`` takes it after a fix; the realtime alert of the same event is unaffected.
        """
        limit = store_limits().alert_name
        for name in [value] if isinstance(value, str) else value or []:
            problem = limit.problem(name) or alert_name_problem(name)
            if problem is not None:
                raise ValueError(f"event name {name[:40]!r}: {problem}")
        return value

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and not value:
            raise ValueError("expected a non-empty list of 'RUNID_EVENTID' texts")
        for text in [value] if isinstance(value, str) else value:
            run_event(text)  # every id offered, not only the one used
        return value

    @property
    def run_event(self) -> tuple[int, int]:
        first = self.id[0] if isinstance(self.id, list) else self.id
        return run_event(first)

    @property
    def stream(self) -> Stream | None:
        return {"Gold Track Alert": "GOLD", "Bronze Track Alert": "BRONZE", "Cascade Alert": "CASCADE"}.get(
            self.pipeline or ""
        )  # type: ignore[return-value]


#: GCN's ``id`` of an IceCube alert: ``RUNID_EVENTID``, two ASCII decimal numbers (sizes checked below)
_GCN_ID = re.compile(r"[0-9]{1,40}_[0-9]{1,40}", re.ASCII)


def run_event(text: str) -> tuple[int, int]:
    """``RUNID_EVENTID`` as two detector ids (unsigned 32-bit, as IceTray's event header holds; the
    store's columns are checked too)."""
    if not _GCN_ID.fullmatch(text):
        raise ValueError(f"id {text[:60]!r} is not 'RUNID_EVENTID' (two numbers)")
    run, _sep, event = text.partition("_")
    limits = store_limits()
    numbers = (int(run), int(event))
    for label, number, column in zip(
        ("run", "event"), numbers, (limits.run_id, limits.event_id), strict=True
    ):
        problem = column.problem(number)
        if problem is not None:
            raise ValueError(f"id {text[:60]!r}: {label} number {problem}")
        if not 0 <= number < ID_LIMIT:
            raise ValueError(
                f"id {text[:60]!r}: {label} number {number} is not a detector id (0 to {ID_LIMIT - 1})"
            )
    return numbers


def storable_problem(document: object) -> tuple[str, str] | None:
    """(dotted path, reason) of the first part of a message no store column could hold: a NUL or a
    surrogate in any key or text, or a key too long to be named in a dead letter's field."""
    limit = store_limits().dead_letter_field
    problem = forbidden_text(document, max_key_chars=limit.max_chars)
    if problem is not None and "is longer than" in problem[1]:
        return problem[0], f"{problem[1]} (the store's {limit.column} holds {limit.max_chars})"
    return problem


class MessageKind:
    """Names of the input kinds (stored in ``inbox.kind``)."""

    EVENT = "event"
    ENVELOPE = "envelope"
    GCN_NOTICE = "gcn_notice"


ParsedMessage = RealtimeEvent | AlertEnvelope | GcnNotice


def event_document(document: Any) -> dict[str, Any] | None:
    """The i3live event object of a stored input: the message itself, or an alert envelope's ``event``."""
    event = document.get("event", document) if isinstance(document, dict) else None
    return event if isinstance(event, dict) else None


__all__ = [
    "AlertClassification",
    "AlertEnvelope",
    "GcnNotice",
    "MessageKind",
    "ParsedMessage",
    "RealtimeEvent",
    "event_document",
    "run_event",
    "storable_problem",
]
