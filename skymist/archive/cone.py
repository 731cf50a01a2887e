"""IVOA Simple Cone Search (SCS 1.03) of the alerts: ``GET /scs?RA=..&DEC=..&SR=..`` -> VOTable.

"Near" means the alert's **90% region** overlaps the cone, not that its best fit lies within SR:
a localized alert's region is the pixels of its flat skymap inside the 90% threshold (its
``thresholds``), a prompt-only alert's the 90% error circle, both as MOCs
(:mod:`skymist.archive.regions`, the files of the records); the cone is a MOC too, and a region is
matched when the two intersect. SR = 0 asks which regions contain the position. The response says so
in its DESCRIPTION and in an INFO element.

The SCS protocol (parameters, errors, the route) is :mod:`skymist.archive.scs` and
:mod:`skymist.archive.vo_routes`; the VOTable is written by :mod:`skymist.archive.votable`.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from skymist.archive.catalogue import catalogue_rows, snapshots
from skymist.archive.regions import CONE_ORDER, alert_moc, circle_moc
from skymist.archive.snapshot import AlertSnapshot
from skymist.config import Settings
from skymist.store.models import Alert
from skymist.store.product_models import Localization

MATCH_RULE = (
    "A row is returned when the cone (RA, DEC, SR) overlaps the alert's 90% region: the skymap pixels "
    "inside the 90% threshold of a localized alert, or the 90% error circle of a prompt-only alert. "
    "The distance of the best fit from the position is given, but is not the criterion."
)


@dataclass(frozen=True)
class AlertRegion:
    name: str
    moc: Any  # the 90% region (a mocpy MOC)
    row: dict[str, Any]

    @property
    def nside(self) -> int:
        return 1 << int(self.moc.max_order)

    @property
    def pixels(self) -> NDArray[np.int64]:
        """The region's sorted RING pixels at :attr:`nside`."""
        import healpy as hp

        nested = np.asarray(self.moc.flatten(), dtype=np.int64)
        return np.sort(np.asarray(hp.nest2ring(self.nside, nested), dtype=np.int64))


def build_regions(settings: Settings, snaps: list[AlertSnapshot]) -> list[AlertRegion]:
    regions = []
    for snap in snaps:
        moc = alert_moc(snap, 90)
        if moc is None:
            continue
        [row] = catalogue_rows(settings, [snap])
        regions.append(AlertRegion(snap.label, moc, row))
    return regions


def intersecting(regions: list[AlertRegion], moc: Any) -> list[AlertRegion]:
    """The regions that share a cell with ``moc``."""
    return [r for r in regions if not r.moc.intersection(moc).empty()]


def overlaps(region: AlertRegion, ra_deg: float, dec_deg: float, sr_deg: float) -> bool:
    return bool(intersecting([region], circle_moc(ra_deg, dec_deg, sr_deg, CONE_ORDER)))


def _separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


#: the columns of each SCS verbosity (``VERB``; 2 when not given); VERB=3 gives every column
VERB_COLUMNS: dict[int, tuple[str, ...]] = {
    1: ("NAME", "RA", "DEC", "DISTANCE"),
    2: (
        "NAME", "RA", "RA_ERR_PLUS", "RA_ERR_MINUS", "DEC", "DEC_ERR_PLUS", "DEC_ERR_MINUS",
        "RA_FULL_RANGE", "DISTANCE", "START", "EVENTMJD", "I3TYPE", "ENERGY", "FAR", "SIGNAL", "AREA_90",
        "REVISION", "RETRACTED", "DOI",
    ),
}  # fmt: skip


def search_table(
    regions: list[AlertRegion], ra_deg: float, dec_deg: float, sr_deg: float, verb: int = 2
) -> Any:
    """The alerts whose 90% region the cone overlaps, as an astropy table of the catalogue's columns
    (``VERB_COLUMNS[verb]``, every one for 3) plus ``DISTANCE`` of the best fit from the position."""
    from skymist.archive.catalogue import catalogue_table

    matched = intersecting(regions, circle_moc(ra_deg, dec_deg, sr_deg, CONE_ORDER))
    table = catalogue_table([r.row for r in matched])
    distances = [_separation_deg(ra_deg, dec_deg, r.row["RA"], r.row["DEC"]) for r in matched]
    table["DISTANCE"] = np.array(distances, dtype=np.float64)
    table["DISTANCE"].unit = "deg"
    table["DISTANCE"].description = "Distance of the best fit from the position (not the match criterion)"
    table["DISTANCE"].meta["ucd"] = "pos.angDistance"
    if verb in VERB_COLUMNS:
        table = table[list(VERB_COLUMNS[verb])]
    return table


def search_votable(
    regions: list[AlertRegion], ra_deg: float, dec_deg: float, sr_deg: float, verb: int = 2
) -> bytes:
    """The cone search's answer: a VOTable 1.4 of :func:`search_table`, saying how it matched."""
    from skymist.archive.votable import table_votable

    infos = [
        ("QUERY_STATUS", "OK"),
        ("MATCH_CRITERION", "cone overlaps the 90% region"),
        ("RA", f"{ra_deg}"),
        ("DEC", f"{dec_deg}"),
        ("SR", f"{sr_deg}"),
        ("VERB", f"{verb}"),
    ]
    table = search_table(regions, ra_deg, dec_deg, sr_deg, verb)
    return table_votable(table, description=MATCH_RULE, infos=infos, resource_name="cone_search")


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
