"""Typed models of the three message kinds the realtime topics carry.

- :class:`RealtimeEvent`: IceCube's realtime event message ("i3live" format, ``value.version``
  2021a / 2023a / 2024a): the detector data (IceTray frames, opaque here) and the online
  reconstruction. On its own it is an *unclassified* event: stored, scannable on request, no
  public products.
- :class:`AlertEnvelope`: ``{"alert": {...classification...}, "event": <i3live message>}``: the same
  event with the realtime classification that makes it a public alert.
- :class:`GcnNotice`: a GCN JSON notice of IceCube's ``single_neutrino_alerts`` schema (mirrored
  public alerts).

Every model forbids what it cannot interpret where it matters (classification, notice) and keeps
unknown extra keys of the i3live message (which carries far more than SkyMist reads).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Stream = Literal["GOLD", "BRONZE", "CASCADE"]


def _parse_naive_utc(value: object) -> object:
    """i3live times are UTC without a zone suffix ('2022-05-24 07:41:32.185352')."""
    if isinstance(value, str):
        text = value.strip().replace("T", " ").removesuffix("Z")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not a UTC date-time 'YYYY-MM-DD hh:mm:ss[.ffffff]': {exc}") from None
        return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    return value


class OnlineTrackFit(BaseModel):
    """An online track reconstruction (detector frame, radians): the direction the muon came from."""

    model_config = ConfigDict(extra="allow", frozen=True)

    zen: Annotated[float, Field(ge=0.0, le=math.pi)]
    azi: Annotated[float, Field(ge=0.0, le=2.0 * math.pi)]
    cr_zen: Annotated[float, Field(ge=0.0)] | None = None
    cr_azi: Annotated[float, Field(ge=0.0)] | None = None


class OnlineRecos(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    splinempe: OnlineTrackFit


class EventData(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    run_id: Annotated[int, Field(gt=0)]
    event_id: Annotated[int, Field(ge=0)]
    eventtime: dt.datetime
    reco: OnlineRecos
    nch: int | None = None
    npulses: int | None = None
    qtot: float | None = None

    _utc = field_validator("eventtime", mode="before")(_parse_naive_utc)


class EventValue(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    version: str
    streams: list[str] = Field(default_factory=list)
    data: EventData


class RealtimeEvent(BaseModel):
    """IceCube's realtime event message ("i3live" format)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    id_: str | None = Field(default=None, alias="_id")
    service: str | None = None
    varname: str | None = None
    value: EventValue
    time: dt.datetime | None = None

    _utc = field_validator("time", mode="before")(_parse_naive_utc)

    @property
    def run_id(self) -> int:
        return self.value.data.run_id

    @property
    def event_id(self) -> int:
        return self.value.data.event_id


class AlertClassification(BaseModel):
    """The realtime classification that makes an event a public alert."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: Stream
    signalness: Annotated[float, Field(ge=0.0, le=1.0)]
    far_per_year: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    energy_tev: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
    revision: Annotated[int, Field(ge=0)] = 0
    err50_deg: Annotated[float, Field(gt=0.0, le=180.0)] | None = None
    err90_deg: Annotated[float, Field(gt=0.0, le=180.0)] | None = None

    @model_validator(mode="after")
    def _radii_ordered(self) -> AlertClassification:
        if self.err50_deg is not None and self.err90_deg is not None and self.err50_deg > self.err90_deg:
            raise ValueError(f"err50_deg {self.err50_deg} is larger than err90_deg {self.err90_deg}")
        return self


class AlertEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alert: AlertClassification
    event: RealtimeEvent


class GcnNotice(BaseModel):
    """A GCN notice of IceCube's ``single_neutrino_alerts`` schema (the fields SkyMist reads)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    schema_: str | None = Field(default=None, alias="$schema")
    mission: Literal["IceCube"]
    instrument: str | None = None
    pipeline: Literal["Gold Track Alert", "Bronze Track Alert", "Cascade Alert"] | None = None
    record_number: Annotated[int, Field(ge=0)]
    event_name: list[str] | str | None = None
    id: list[str] | str
    alert_type: Literal["initial", "subsequent", "update", "retraction"]
    alert_tense: str | None = None
    ra: Annotated[float, Field(ge=0.0, lt=360.0)]
    dec: Annotated[float, Field(ge=-90.0, le=90.0)]
    ra_dec_error: float | list[float] | None = None
    trigger_time: dt.datetime
    nu_energy: float | None = None
    p_astro: float | None = None
    far: float | None = None

    @property
    def run_event(self) -> tuple[int, int]:
        first = self.id[0] if isinstance(self.id, list) else self.id
        run, sep, event = first.partition("_")
        if not sep or not run.isdigit() or not event.isdigit():
            raise ValueError(f"id {first!r} is not 'RUNID_EVENTID'")
        return int(run), int(event)

    @property
    def stream(self) -> Stream | None:
        return {"Gold Track Alert": "GOLD", "Bronze Track Alert": "BRONZE", "Cascade Alert": "CASCADE"}.get(
            self.pipeline or ""
        )  # type: ignore[return-value]


class MessageKind:
    """Names of the input kinds (stored in ``inbox.kind``)."""

    EVENT = "event"
    ENVELOPE = "envelope"
    GCN_NOTICE = "gcn_notice"


ParsedMessage = RealtimeEvent | AlertEnvelope | GcnNotice
