"""FITS header cards shared by the flat and the multi-order skymap files.

Key names follow skyreader's published maps (RUNID, EVENTID, DATE-OBS, MJD-OBS, RA, DEC,
RA_ERR_PLUS_50 ... DEC_ERR_MINUS_90, CONTOUR_AREA_50/90) plus the threshold set that made the
regions. Keys longer than 8 characters are HIERARCH cards, as in skyreader's files.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from skymist.skymap.analysis import SkymapAnalysis

__all__ = ["header_cards", "mjd_to_isot"]

_MJD_EPOCH = dt.datetime(1858, 11, 17, tzinfo=dt.UTC)


def mjd_to_isot(mjd: float) -> str:
    """UTC MJD to ISO 8601 (``YYYY-MM-DDTHH:MM:SS.ffffff``), days of 86400 s."""
    when = _MJD_EPOCH + dt.timedelta(days=mjd)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def header_cards(analysis: SkymapAnalysis) -> list[tuple[str, Any, str]]:
    """(keyword, value, comment) cards; unknown values are written as undefined (``None``)."""
    meta = analysis.metadata
    mjd = meta.mjd if meta.mjd is not None and math.isfinite(meta.mjd) else None
    tset = analysis.thresholds
    r50, r90 = analysis.region_50, analysis.region_90
    cards: list[tuple[str, Any, str]] = [
        ("RUNID", meta.run_id, "run id of the event"),
        ("EVENTID", meta.event_id, "event id of the event"),
        ("SENDER", "IceCube Collaboration", ""),
        ("DATE-OBS", mjd_to_isot(mjd) if mjd is not None else None, "UTC date of the observation"),
        ("MJD-OBS", mjd, "modified Julian date of the observation"),
        ("EVENT-TYPE", meta.event_type, "event type"),
        ("RA", _r(analysis.ra_deg), "best fit RA (J2000, deg)"),
        ("DEC", _r(analysis.dec_deg), "best fit Dec (J2000, deg)"),
    ]
    for tag, region in (("50", r50), ("90", r90)):
        box = region.box
        cards += [
            (f"RA_ERR_PLUS_{tag}", _r(box.ra_plus_deg), f"{tag}% containment error high (deg)"),
            (f"RA_ERR_MINUS_{tag}", _r(box.ra_minus_deg), f"{tag}% containment error low (deg)"),
            (f"DEC_ERR_PLUS_{tag}", _r(box.dec_plus_deg), f"{tag}% containment error high (deg)"),
            (f"DEC_ERR_MINUS_{tag}", _r(box.dec_minus_deg), f"{tag}% containment error low (deg)"),
        ]
    cards += [
        ("CONTOUR_AREA_50", _r(r50.area_deg2), "50% contour area (sqdeg)"),
        ("CONTOUR_AREA_90", _r(r90.area_deg2), "90% contour area (sqdeg)"),
        ("THRESHOLD_SET", tset.name, "named threshold set of the regions"),
        ("LEVEL_50", _r(r50.two_delta_llh_level, 6), "2 Delta LLH threshold of the 50% region"),
        ("LEVEL_90", _r(r90.two_delta_llh_level, 6), "2 Delta LLH threshold of the 90% region"),
        ("PIXEL_CONVENTION", str(analysis.pixel_convention), "convention of the source scan's pixels"),
        ("COMMENTS", f"50% and 90% uncertainty location => {tset.description}", ""),
        ("NOTE", "Pixels with NaN values were not scanned or the fit did not converge", ""),
    ]
    return cards
