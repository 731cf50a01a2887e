"""The alerts' sky regions as IVOA MOCs (Multi-Order Coverage maps, MOC 2.0), made and read with mocpy.

A localized alert's 50% and 90% regions are the pixels of its flat skymap inside the localization's
thresholds (``level_50`` / ``level_90``; for ``hpd`` the smallest set of pixels holding 50% / 90% of
the probability), at the map's own resolution; a prompt-only alert's region is its error circle.
Each localization's two regions are files of the alert's record (:func:`region_path`), written as
MOC 2.0 FITS (:func:`moc_fits`, deterministic: the same region gives the same bytes); the cone
search and the region query decide "inside the region" with them; the catalogue's coverage MOC is
the union of every alert's 90% region.

Outside MOCs (the region query's body) are data: :func:`read_moc` accepts MOC 2.0 FITS or the
ASCII serialization and nothing else, with a :class:`MocInputError` that says what was wrong.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from skymist.archive.snapshot import AlertSnapshot, LocalizationRecord

Credibility = Literal[50, 90]
CREDIBILITIES: tuple[Credibility, ...] = (50, 90)
#: MOC order of a prompt alert's error circle (nside 1024, cells of about 3.4 arcmin)
CIRCLE_ORDER = 10
#: MOC order of a cone asked of the cone search (cells of about 13 arcsec: the cone's edge is exact
#: to that, far below any region's own cells)
CONE_ORDER = 14
#: the largest MOC the region query takes (bytes): a survey footprint is kilobytes to a few megabytes
MAX_MOC_BYTES = 16 * 1024 * 1024
MEDIA_TYPE = "application/fits"


class MocInputError(ValueError):
    """A MOC given from outside that is not one (the message says why)."""


def region_path(localization_id: int, credibility: Credibility) -> str:
    """The region's file in the alert's record (under ``data/``)."""
    return f"regions/localization-{localization_id}-{credibility}.moc.fits"


def region_pixels(loc: LocalizationRecord, credibility: Credibility) -> tuple[int, NDArray[np.int64]]:
    """(nside, sorted RING pixels) of the localization's region, from its flat skymap."""
    from skymist.skymap.fits_flat import read_flat_fits

    flat = read_flat_fits(loc["flat_fits_path"])
    ts = flat.values
    if loc["thresholds"] == "hpd":
        finite = np.isfinite(ts)
        weight = np.where(finite, np.exp(-np.where(finite, ts, 0.0) / 2.0), 0.0)
        order = np.argsort(np.where(finite, ts, np.inf), kind="stable")
        cumulative = np.cumsum(weight[order]) / weight.sum()
        inside = order[: int(np.searchsorted(cumulative, credibility / 100.0)) + 1]
        return flat.nside, np.sort(inside).astype(np.int64)
    with np.errstate(invalid="ignore"):
        inside = np.flatnonzero(ts <= float(loc[f"level_{credibility}"]))
    return flat.nside, inside.astype(np.int64)


def pixels_moc(nside: int, ring_pixels: NDArray[np.int64]) -> Any:
    """The MOC of RING pixels at ``nside`` (a power of two)."""
    import healpy as hp
    from mocpy import MOC

    order = int(nside).bit_length() - 1
    nested = np.asarray(hp.ring2nest(nside, ring_pixels), dtype=np.uint64)
    return MOC.from_healpix_cells(nested, np.full(len(nested), order, dtype=np.uint8), max_depth=order)


@functools.lru_cache(maxsize=64)
def _localization_moc(path: str, sha256: str, thresholds: str, level: float, credibility: Credibility) -> Any:
    # keyed by the flat file's sha256 and the thresholds: a changed file or level is a new region
    loc: dict[str, Any] = {
        "flat_fits_path": path,
        "thresholds": thresholds,
        f"level_{credibility}": level,
    }
    from skymist.archive.snapshot import LocalizationRecord

    nside, pixels = region_pixels(LocalizationRecord(loc), credibility)
    return pixels_moc(nside, pixels)


def localization_moc(loc: LocalizationRecord, credibility: Credibility) -> Any:
    """The localization's 50% or 90% region as a MOC at its flat map's resolution."""
    return _localization_moc(
        str(loc["flat_fits_path"]),
        str(loc["flat_fits_sha256"]),
        str(loc["thresholds"]),
        float(loc[f"level_{credibility}"]),
        credibility,
    )


def circle_moc(ra_deg: float, dec_deg: float, radius_deg: float, order: int = CIRCLE_ORDER) -> Any:
    """The cells of ``order`` that a circle overlaps (with the cell of its centre: a radius of 0 is
    the position itself)."""
    import astropy.units as u
    from astropy.coordinates import Latitude, Longitude
    from mocpy import MOC

    lon, lat = Longitude(ra_deg % 360.0, u.deg), Latitude(dec_deg, u.deg)
    point = MOC.from_lonlat(lon=lon.reshape(1), lat=lat.reshape(1), max_norder=order)
    if radius_deg <= 0:
        return point
    if radius_deg >= 180.0:
        return MOC.from_string(f"0/0-11\n{order}/", format="ascii")
    cone = MOC.from_cone(lon=lon, lat=lat, radius=radius_deg * u.deg, max_depth=order)
    return cone.union(point)


def alert_moc(snap: AlertSnapshot, credibility: Credibility = 90) -> Any | None:
    """The region of the alert's latest revision: its localization's, else its error circle
    (None: a prompt revision without an error radius)."""
    rev = snap.revisions[-1]
    loc = snap.localization_of(rev.revision)
    if loc is not None:
        return localization_moc(loc, credibility)
    radius = rev.err90_deg if credibility == 90 else rev.err50_deg
    if radius is None:
        return None
    return circle_moc(rev.ra_deg, rev.dec_deg, radius)


def union(mocs: Iterable[Any]) -> Any:
    """The union of the MOCs (the empty MOC when there are none)."""
    from mocpy import MOC

    found = list(mocs)
    if not found:
        return MOC.new_empty(max_depth=CIRCLE_ORDER)
    if len(found) == 1:
        return found[0]
    return found[0].union(*found[1:])


def moc_fits(moc: Any) -> bytes:
    """MOC 2.0 FITS bytes of ``moc`` (no date or other clock reading in the header)."""
    from astropy.io import fits

    hdus = moc.serialize(format="fits")
    for hdu in hdus:
        for key in ("DATE", "DATE-MOC"):
            if key in hdu.header:
                del hdu.header[key]
    out = io.BytesIO()
    fits.HDUList(list(hdus)).writeto(out, checksum=False)
    return out.getvalue()


def read_moc(data: bytes) -> Any:
    """A spatial MOC from MOC FITS bytes or the MOC ASCII serialization (``order/cells ...``)."""
    from mocpy import MOC

    if not data.strip():
        raise MocInputError("the MOC is empty: give MOC 2.0 FITS or the ASCII serialization")
    if len(data) > MAX_MOC_BYTES:
        raise MocInputError(f"the MOC has {len(data)} bytes: at most {MAX_MOC_BYTES} are taken")
    if data.startswith(b"SIMPLE  ="):
        try:
            return MOC.from_fits(io.BytesIO(data))
        except Exception as exc:  # mocpy raises ValueError, OSError, or its own errors
            raise MocInputError(f"not a spatial MOC in FITS ({_why(exc)})") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise MocInputError("neither MOC FITS (no 'SIMPLE  =' card) nor the ASCII serialization") from None
    if not all(ch.isdigit() or ch in "/-, \t\r\n" for ch in text):
        raise MocInputError(
            "neither MOC FITS nor the ASCII serialization ('order/cell cell-cell ...': digits, '/', '-', "
            "spaces only)"
        )
    try:
        return MOC.from_string(text, format="ascii")
    except Exception as exc:
        raise MocInputError(f"not a MOC in the ASCII serialization ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]


def sky_fraction(moc: Any) -> float:
    """The fraction of the sky the MOC covers."""
    return float(moc.sky_fraction)


def area_deg2(moc: Any) -> float:
    return sky_fraction(moc) * 4.0 * math.pi * (180.0 / math.pi) ** 2
