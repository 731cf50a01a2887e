"""The typed values the Circular templates are rendered from (units explicit in every name)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from skybase.times import voevent_time
from skymist.circulars.catalogue import CatalogueMatch

#: purity wording of the track streams: (probability word, average astrophysical purity in percent)
TRACK_PURITY: dict[str, tuple[str, int]] = {"GOLD": ("high", 50), "BRONZE": ("moderate", 30)}


def utc_date_and_time(event_time: dt.datetime) -> tuple[str, str]:
    """``("2022-05-24", "07:41:32.19")``: the one date style (ISO) and centisecond time of the products."""
    date, _, time = voevent_time(event_time).partition("T")
    return date, time


def stream_label(stream: str) -> str:
    """The alert stream as IceCube's Circulars name it."""
    return "ICECUBE_Cascade" if stream == "CASCADE" else f"ICECUBE_Astrotrack_{stream}"


def far_text(far_per_year: float) -> str:
    """A false alarm rate as the VOEvent's ``FAR`` Param gives it (four decimals), trailing zeros dropped
    as IceCube's Circulars do (2.0054, 0.5131, 0.41); below 0.0001 per year as GCN asks (1.2x10^-5)."""
    if far_per_year != 0.0 and abs(far_per_year) < 5e-5:
        mantissa, exponent = f"{far_per_year:.2e}".split("e")
        return f"{mantissa}x10^{int(exponent)}"
    return f"{far_per_year:.4f}".rstrip("0").rstrip(".")


def prompt_notice_url(run_id: int, event_id: int) -> str:
    """The prompt notice as IceCube's Circulars cite it: its page in GCN's AMON Gold/Bronze archive."""
    return f"https://gcn.gsfc.nasa.gov/notices_amon_g_b/{run_id}_{event_id}.amon"


@dataclass(frozen=True)
class TrackCircularVars:
    """Everything the track Circular says. Angles in J2000 degrees; errors are 90% box extents."""

    name: str
    run_id: int
    event_id: int
    date_utc: str
    time_utc: str
    stream: str  # GOLD or BRONZE
    stream_title: str  # Gold or Bronze
    purity_word: str
    purity_percent: int
    far_per_year_text: str
    prompt_notice_url: str
    ra_deg: float
    dec_deg: float
    ra_plus_deg: float
    ra_minus_deg: float
    dec_plus_deg: float
    dec_minus_deg: float
    area_90_deg2: float
    systematic_included: bool
    healpix_url: str | None
    contact: str
    #: an approximation made the direction: the Circular says so and never calls it refined
    reco_approximation: bool = False
    reco_words: str = ""
    #: the gamma-ray catalogue cross-match (None: no catalogue configured, no paragraph)
    catalogue: CatalogueMatch | None = field(default=None)

    def as_template_vars(self) -> dict[str, Any]:
        values = asdict(self)
        values["catalogue"] = self.catalogue  # keep the object (its sources are dataclasses)
        return values


@dataclass(frozen=True)
class RetractionCircularVars:
    """Everything the retraction Circular says."""

    name: str
    run_id: int
    event_id: int
    date_utc: str
    time_utc: str
    stream_label: str  # ICECUBE_Astrotrack_GOLD, ICECUBE_Astrotrack_BRONZE or ICECUBE_Cascade
    chance_word: str  # high (Gold), moderate (Bronze, Cascade)
    prompt_notice_url: str
    reason_text: str  # the operator's reason, one line, plain ASCII
    contact: str

    def as_template_vars(self) -> dict[str, Any]:
        return asdict(self)


def track_vars(
    *,
    name: str,
    run_id: int,
    event_id: int,
    stream: str,
    event_time: dt.datetime,
    far_per_year: float,
    ra_deg: float,
    dec_deg: float,
    ra_plus_deg: float,
    ra_minus_deg: float,
    dec_plus_deg: float,
    dec_minus_deg: float,
    area_90_deg2: float,
    systematic_included: bool,
    healpix_url: str | None,
    contact: str,
    reco_approximation: bool = False,
    reco_words: str = "",
    catalogue: CatalogueMatch | None = None,
) -> TrackCircularVars:
    if stream not in TRACK_PURITY:
        raise ValueError(f"stream = {stream!r}: the track Circular is for GOLD and BRONZE alerts only")
    word, percent = TRACK_PURITY[stream]
    date, time = utc_date_and_time(event_time)
    return TrackCircularVars(
        name=name,
        run_id=run_id,
        event_id=event_id,
        date_utc=date,
        time_utc=time,
        stream=stream,
        stream_title=stream.title(),
        purity_word=word,
        purity_percent=percent,
        far_per_year_text=far_text(far_per_year),
        prompt_notice_url=prompt_notice_url(run_id, event_id),
        ra_deg=ra_deg % 360.0,
        dec_deg=dec_deg,
        ra_plus_deg=ra_plus_deg,
        ra_minus_deg=ra_minus_deg,
        dec_plus_deg=dec_plus_deg,
        dec_minus_deg=dec_minus_deg,
        area_90_deg2=area_90_deg2,
        systematic_included=systematic_included,
        healpix_url=healpix_url,
        contact=contact,
        reco_approximation=reco_approximation,
        reco_words=reco_words,
        catalogue=catalogue,
    )


def retraction_vars(
    *,
    name: str,
    run_id: int,
    event_id: int,
    stream: str,
    event_time: dt.datetime,
    reason_text: str,
    contact: str,
) -> RetractionCircularVars:
    date, time = utc_date_and_time(event_time)
    return RetractionCircularVars(
        name=name,
        run_id=run_id,
        event_id=event_id,
        date_utc=date,
        time_utc=time,
        stream_label=stream_label(stream),
        chance_word=TRACK_PURITY.get(stream, ("moderate", 0))[0],
        prompt_notice_url=prompt_notice_url(run_id, event_id),
        reason_text=reason_text,
        contact=contact,
    )
