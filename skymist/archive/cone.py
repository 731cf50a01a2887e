"""IVOA Simple Cone Search (SCS 1.03) of the alerts: ``GET /scs?RA=..&DEC=..&SR=..`` -> VOTable.

"Near" means the alert's **90% region** overlaps the cone, not that its best fit lies within SR:
a localized alert's region is the pixels of its flat skymap inside the 90% threshold (its
``thresholds``), a prompt-only alert's the 90% error circle. SR = 0 asks which regions contain the
position. The response says so in its DESCRIPTION and in an INFO element.

Served standalone by ``skymist catalogue serve``; :func:`cone_router` is the same endpoint as a
FastAPI router, for mounting on the daemon's HTTP server (``app.include_router(cone_router(...))``).
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from skymist.archive.catalogue import catalogue_rows, snapshots
from skymist.archive.snapshot import AlertSnapshot
from skymist.config import Settings
from skymist.store.models import Alert
from skymist.store.product_models import Localization

MATCH_RULE = (
    "A row is returned when the cone (RA, DEC, SR) overlaps the alert's 90% region: the skymap pixels "
    "inside the 90% threshold of a localized alert, or the 90% error circle of a prompt-only alert. "
    "The distance of the best fit from the position is given, but is not the criterion."
)
CIRCLE_NSIDE = 256


@dataclass(frozen=True)
class AlertRegion:
    name: str
    nside: int
    pixels: NDArray[np.int64]  # sorted RING indices inside the 90% region
    row: dict[str, Any]


def _flat_region(loc: Any) -> tuple[int, NDArray[np.int64]]:
    from skymist.skymap.fits_flat import read_flat_fits

    flat = read_flat_fits(loc["flat_fits_path"])
    ts = flat.values
    if loc["thresholds"] == "hpd":
        finite = np.isfinite(ts)
        weight = np.where(finite, np.exp(-np.where(finite, ts, 0.0) / 2.0), 0.0)
        order = np.argsort(np.where(finite, ts, np.inf), kind="stable")
        cumulative = np.cumsum(weight[order]) / weight.sum()
        inside = order[: int(np.searchsorted(cumulative, 0.9)) + 1]
        return flat.nside, np.sort(inside).astype(np.int64)
    with np.errstate(invalid="ignore"):
        inside = np.flatnonzero(ts <= float(loc["level_90"]))
    return flat.nside, inside.astype(np.int64)


def _circle_region(ra_deg: float, dec_deg: float, radius_deg: float) -> tuple[int, NDArray[np.int64]]:
    import healpy as hp

    vec = hp.ang2vec(ra_deg, dec_deg, lonlat=True)
    pixels = hp.query_disc(CIRCLE_NSIDE, vec, math.radians(radius_deg), inclusive=False)
    centre = hp.ang2pix(CIRCLE_NSIDE, ra_deg, dec_deg, lonlat=True)
    return CIRCLE_NSIDE, np.union1d(pixels, [centre]).astype(np.int64)


def build_regions(settings: Settings, snaps: list[AlertSnapshot]) -> list[AlertRegion]:
    regions = []
    for snap in snaps:
        [row] = catalogue_rows(settings, [snap])
        rev = snap.revisions[-1]
        loc = snap.localization_of(rev.revision)
        if loc is not None:
            nside, pixels = _flat_region(loc)
        elif rev.err90_deg is not None:
            nside, pixels = _circle_region(rev.ra_deg, rev.dec_deg, rev.err90_deg)
        else:
            continue
        regions.append(AlertRegion(snap.label, nside, pixels, row))
    return regions


def overlaps(region: AlertRegion, ra_deg: float, dec_deg: float, sr_deg: float) -> bool:
    import healpy as hp

    cone: Any = np.array([hp.ang2pix(region.nside, ra_deg, dec_deg, lonlat=True)], dtype=np.int64)
    if sr_deg > 0:
        vec = hp.ang2vec(ra_deg, dec_deg, lonlat=True)
        cone = np.union1d(hp.query_disc(region.nside, vec, math.radians(sr_deg), inclusive=False), cone)
    hits = np.isin(np.asarray(cone, dtype=np.int64), region.pixels, assume_unique=False)
    return bool(hits.any())


def _separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


_UCDS = {
    "NAME": "ID_MAIN",
    "RA": "POS_EQ_RA_MAIN",
    "DEC": "POS_EQ_DEC_MAIN",
    "DISTANCE": "POS_ANG_DIST_GENERAL",
}


def _votable_bytes(table: Any, infos: list[tuple[str, str]], description: str) -> bytes:
    from astropy.io.votable.tree import Info
    from astropy.io.votable.tree import VOTableFile as VOTable

    votable = VOTable.from_table(table)
    resource = votable.resources[0]
    resource.description = description
    for name, value in infos:
        resource.infos.append(Info(name=name, value=value))
    for field in resource.tables[0].fields:
        if field.name in _UCDS:
            field.ucd = _UCDS[field.name]
    out = io.BytesIO()
    votable.to_xml(out)
    return out.getvalue()


def error_votable(message: str) -> bytes:
    """An SCS error answer: INFO QUERY_STATUS = ERROR with the message."""
    text = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        f'  <RESOURCE type="results">\n    <INFO name="QUERY_STATUS" value="ERROR">{text}</INFO>\n'
        "  </RESOURCE>\n</VOTABLE>\n"
    ).encode()


def search_votable(regions: list[AlertRegion], ra_deg: float, dec_deg: float, sr_deg: float) -> bytes:
    from astropy.table import Table

    from skymist.archive.catalogue import catalogue_table

    matched = [r for r in regions if overlaps(r, ra_deg, dec_deg, sr_deg)]
    table = catalogue_table([r.row for r in matched])
    distances = [_separation_deg(ra_deg, dec_deg, r.row["RA"], r.row["DEC"]) for r in matched]
    table["DISTANCE"] = np.array(distances, dtype=np.float64)
    table["DISTANCE"].unit = "deg"
    table["DISTANCE"].description = "Distance of the best fit from the position (not the match criterion)"
    table = Table(table, masked=True)
    infos = [
        ("QUERY_STATUS", "OK"),
        ("MATCH_CRITERION", "cone overlaps the 90% region"),
        ("RA", f"{ra_deg}"),
        ("DEC", f"{dec_deg}"),
        ("SR", f"{sr_deg}"),
    ]
    return _votable_bytes(table, infos, MATCH_RULE)


def parse_position(ra: str | None, dec: str | None, sr: str | None) -> tuple[float, float, float]:
    """RA, DEC, SR of a query; a ValueError names the parameter and the value."""
    values = []
    for name, text, low, high in (("RA", ra, 0.0, 360.0), ("DEC", dec, -90.0, 90.0), ("SR", sr, 0.0, 180.0)):
        if text is None or text == "":
            raise ValueError(f"{name} is missing (SCS needs RA, DEC and SR in decimal degrees)")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{name} = {text!r}: not a number (decimal degrees)") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{name} = {text!r}: outside [{low:g}, {high:g}] deg")
        values.append(value)
    return values[0], values[1], values[2]


class RegionCache:
    """The alerts' regions, rebuilt when an alert or a localization changes."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._lock = threading.Lock()
        self._mark: tuple[Any, ...] | None = None
        self._regions: list[AlertRegion] = []

    def regions(self) -> list[AlertRegion]:
        with self._lock, self.sessions() as session:
            counts = select(func.count(Alert.id), func.max(Alert.updated_at), func.max(Localization.id))
            joined = counts.select_from(Alert).outerjoin(Localization, Localization.alert_id == Alert.id)
            mark = tuple(session.execute(joined).one())
            if mark != self._mark:
                self._regions = build_regions(self.settings, snapshots(session))
                self._mark = mark
            return self._regions


def cone_router(settings: Settings, sessions: sessionmaker[Session]) -> Any:
    from fastapi import APIRouter, Query
    from fastapi.responses import Response

    cache = RegionCache(settings, sessions)
    router = APIRouter()
    media = "text/xml"

    @router.get("/scs")
    def scs(
        ra: str | None = Query(None, alias="RA"),
        dec: str | None = Query(None, alias="DEC"),
        sr: str | None = Query(None, alias="SR"),
    ) -> Response:
        try:
            ra_deg, dec_deg, sr_deg = parse_position(ra, dec, sr)
        except ValueError as exc:
            return Response(error_votable(str(exc)), media_type=media)
        return Response(search_votable(cache.regions(), ra_deg, dec_deg, sr_deg), media_type=media)

    return router


def cone_app(settings: Settings, sessions: sessionmaker[Session]) -> Any:
    """The standalone FastAPI application of ``skymist catalogue serve``."""
    from fastapi import FastAPI

    app = FastAPI(title="SkyMist alert cone search", description=MATCH_RULE)
    app.include_router(cone_router(settings, sessions))
    return app
