"""FITS header cards shared by the flat and the multi-order skymap files.

Key names follow skyreader's published maps (RUNID, EVENTID, DATE-OBS, MJD-OBS, RA, DEC,
RA_ERR_PLUS_50 ... DEC_ERR_MINUS_90, CONTOUR_AREA_50/90) plus the threshold set that made the
regions. Keys longer than 8 characters are HIERARCH cards, as in skyreader's files.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from skybase.times import mjd_to_isot
from skymist.skymap.analysis import SkymapAnalysis

__all__ = ["header_cards"]


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def header_cards(analysis: SkymapAnalysis) -> list[tuple[str, Any, str]]:
    """(keyword, value, comment) cards; a key whose value is unknown is left out (a key without a value
    breaks readers: ligo.skymap's ``read_sky_map`` fails on an empty ``DATE-OBS``)."""
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
        ("RECOALGO", meta.reco_algo, "reco algorithm that made the map"),
        ("RECOKIND", meta.reco_kind, "reconstruction or approximation"),
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
    cal = analysis.calibration
    if cal is not None:
        cards += [
            ("DENSITY", cal.method, "how PROBDENSITY / PROB were made from 2DLLH"),
            ("DENSLOPE50", _r(cal.slope_50, 8), "T = DENSLOPE50 * 2DLLH up to DENSKNOT"),
            ("DENSLOPE90", _r(cal.slope_90, 8), "slope of T beyond DENSKNOT"),
            ("DENSKNOT", _r(cal.knot_2dllh, 6), "2DLLH of the knot (the 50% level)"),
            ("DENSPROB50", _r(cal.probability_50, 6), "probability inside the 50% region"),
            ("DENSPROB90", _r(cal.probability_90, 6), "probability inside the 90% region"),
            ("DENSNOTE", cal.describe()[:68], "density ~ exp(-T/2), T monotone in 2DLLH"),
        ]
    return [_fitted(key, value, comment) for key, value, comment in cards if value is not None]


def _fitted(key: str, value: Any, comment: str) -> tuple[str, Any, str]:
    """The card with its comment cut to the room left in 80 characters (astropy would cut it and
    warn on every write; a HIERARCH keyword leaves less room)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # HIERARCH for keywords over 8 characters
        used = len(fits.Card(key, value).image.rstrip())
    room = 80 - used - len(" / ")
    return key, value, comment[:room] if room > 0 else ""
