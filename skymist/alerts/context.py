"""The typed context every product template is rendered from (units explicit in every name)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

from skybase.times import modified_julian_date, voevent_time
from skymist.alert_streams import STREAM_INFO as STREAM_INFO  # where the alerts find it
from skymist.alert_streams import ivorn_for
from skymist.store.models import Alert

SECONDS_PER_JULIAN_YEAR = 31_557_600.0

AlertType = Literal["initial", "update", "retraction"]

#: VOEvent ``role`` per GCN ``alert_tense``: only real (current or archival) alerts are observations
_ROLE_OF_TENSE = {"current": "observation", "archival": "observation"}


def voevent_role_for(alert_tense: str) -> str:
    """The VOEvent ``role`` that says what ``alert_tense`` says: ``observation`` for ``current`` and
    ``archival`` alerts, ``test`` for ``test``, ``injection``, ``commanded`` and ``planned`` ones."""
    return _ROLE_OF_TENSE.get(alert_tense, "test")


def iso_z(when: dt.datetime, digits: int = 6) -> str:
    """``2022-05-24T07:41:32.185352Z`` (UTC, ``digits`` decimals of seconds)."""
    when = when.astimezone(dt.UTC)
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    if digits <= 0:
        return base + "Z"
    frac = f"{when.microsecond / 1e6:.{digits}f}"[1:]
    if frac.startswith(".") and len(frac) == digits + 1:
        return base + frac + "Z"
    return base + "Z"


@dataclass(frozen=True)
class ProductContext:
    """Everything a notice, VOEvent or Slack message about one alert revision says."""

    name: str
    run_id: int
    event_id: int
    revision: int
    stream: str
    stream_title: str
    pipeline: str
    topology: str
    packet_type: int
    amon_stream: int
    ra_deg: float
    dec_deg: float
    err50_deg: float
    err90_deg: float
    errors_derived: bool
    energy_tev: float
    signalness: float
    far_per_year: float
    far_hz: float
    trigger_time_iso: str
    trigger_time_voevent: str
    event_tjd_days: int
    event_sod_s: float
    alert_datetime_iso: str
    alert_type: AlertType
    alert_tense: str
    voevent_role: str
    ivorn: str
    supersedes_ivorn: str | None
    systematic_included: bool
    healpix_url: str | None
    amon_id: str
    retraction: bool
    test: bool
    #: what made the position (refined revisions): the algorithm, reconstruction / approximation, and a
    #: phrase for people; None for the prompt revision (the online fit)
    reco_algo: str | None = None
    reco_kind: str | None = None
    reco_words: str | None = None

    def as_template_vars(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlertIdentity:
    """Which alert a product is about."""

    name: str
    run_id: int
    event_id: int
    stream: str
    event_time: dt.datetime  # aware, UTC


def identity_of(alert: Alert) -> AlertIdentity:
    """The identity of a named alert of a public stream (its products need both)."""
    if alert.name is None or alert.stream is None:
        raise ValueError(f"alert {alert.run_id}_{alert.event_id} has no name or stream: no public products")
    return AlertIdentity(alert.name, alert.run_id, alert.event_id, alert.stream, alert.event_time)


@dataclass(frozen=True)
class RevisionNumbers:
    """What one revision states: J2000 degrees, energy in TeV, false alarm rate per year."""

    ra_deg: float
    dec_deg: float
    err50_deg: float
    err90_deg: float
    errors_derived: bool
    energy_tev: float
    signalness: float
    far_per_year: float


@dataclass(frozen=True)
class Publication:
    """How a revision is published: which record, of which type, for which audience, when."""

    revision: int
    alert_type: AlertType
    alert_tense: str
    now: dt.datetime
    systematic_included: bool = False
    healpix_url: str | None = None
    supersedes_revision: int | None = None
    reco_algo: str | None = None  # what made the position (Rev 1: the scan's reco)
    reco_kind: str | None = None  # reconstruction or approximation
    reco_words: str | None = None  # how public text names it


def _check_stream(stream: str) -> None:
    if stream not in STREAM_INFO:
        raise ValueError(f"stream {stream!r} has no public products (expected GOLD, BRONZE or CASCADE)")


def _seconds_of_day(when: dt.datetime) -> float:
    """Seconds since the UTC midnight before ``when``."""
    day_start = when.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (when.astimezone(dt.UTC) - day_start).total_seconds()


def build_context(
    identity: AlertIdentity, numbers: RevisionNumbers, publication: Publication
) -> ProductContext:
    """Compute every derived quantity once (rounded as published) so templates only place values."""
    name, run_id, event_id = identity.name, identity.run_id, identity.event_id
    stream, event_time = identity.stream, identity.event_time
    revision, alert_type, now = publication.revision, publication.alert_type, publication.now
    supersedes_revision = publication.supersedes_revision
    _check_stream(stream)
    info = STREAM_INFO[stream]
    mjd = modified_julian_date(event_time)
    sod = _seconds_of_day(event_time)
    supersedes = (
        ivorn_for(stream, event_time, run_id, event_id, supersedes_revision)
        if supersedes_revision is not None
        else None
    )
    return ProductContext(
        name=name,
        run_id=run_id,
        event_id=event_id,
        revision=revision,
        stream=stream,
        stream_title=info["title"],
        pipeline=info["pipeline"],
        topology=info["topology"],
        packet_type=info["packet_type"],
        amon_stream=info["amon_stream"],
        ra_deg=round(numbers.ra_deg % 360.0, 4),
        dec_deg=round(numbers.dec_deg, 4),
        err50_deg=round(numbers.err50_deg, 4),
        err90_deg=round(numbers.err90_deg, 4),
        errors_derived=numbers.errors_derived,
        energy_tev=round(numbers.energy_tev, 4),
        signalness=round(numbers.signalness, 5),
        far_per_year=round(numbers.far_per_year, 4),
        far_hz=float(f"{numbers.far_per_year / SECONDS_PER_JULIAN_YEAR:.4e}"),
        trigger_time_iso=iso_z(event_time),
        trigger_time_voevent=voevent_time(event_time),
        event_tjd_days=int(mjd) - 40000,
        event_sod_s=round(sod, 2),
        alert_datetime_iso=iso_z(now, 3),
        alert_type=alert_type,
        alert_tense=publication.alert_tense,
        voevent_role=voevent_role_for(publication.alert_tense),
        ivorn=ivorn_for(stream, event_time, run_id, event_id, revision),
        supersedes_ivorn=supersedes,
        systematic_included=publication.systematic_included,
        healpix_url=publication.healpix_url,
        amon_id=f"{run_id}{event_id}",
        retraction=alert_type == "retraction",
        test=publication.alert_tense == "test",
        reco_algo=publication.reco_algo,
        reco_kind=publication.reco_kind,
        reco_words=publication.reco_words,
    )
