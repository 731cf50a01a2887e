"""The gamma-ray catalogue cross-match of a Circular: the sources inside the 90% region, or the nearest.

The catalogue is a FITS binary table in the column layout of Fermi-LAT's 4FGL releases
(``gll_psc_v*.fit``): one row per source with ``Source_Name`` (e.g. ``4FGL J0307.0-0314``), ``RAJ2000``
and ``DEJ2000`` (degrees). Other columns (``ASSOC1``, ``CLASS1``, ...) are ignored. Its path is the
setting ``gamma_catalogue_path``, its name in the Circular ``gamma_catalogue_name``.

A source is inside the region when the multi-order pixel holding its position is one of the region's
pixels: the same pixels whose area the Circular and the FITS header state.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.analysis import SkymapAnalysis

COLUMNS = ("Source_Name", "RAJ2000", "DEJ2000")


class CatalogueError(ValueError):
    """The configured catalogue cannot be read (the message names the file and the column)."""


@dataclass(frozen=True)
class CatalogueSource:
    name: str
    ra_deg: float
    dec_deg: float
    distance_deg: float  # from the best fit


@dataclass(frozen=True)
class CatalogueMatch:
    """What the Circular says about the catalogue."""

    catalogue_name: str  # e.g. "Fermi 4FGL-DR4"
    inside: tuple[CatalogueSource, ...]  # inside the 90% region, nearest first
    nearest: CatalogueSource | None  # the nearest source of all (None: an empty catalogue)


@dataclass(frozen=True, eq=False)
class Catalogue:
    names: tuple[str, ...]
    ra_deg: NDArray[np.float64]
    dec_deg: NDArray[np.float64]


def load_catalogue(path: str | Path) -> Catalogue:
    """Read a 4FGL-layout FITS table (cached per path and modification time)."""
    file = Path(path)
    try:
        stamp = file.stat().st_mtime_ns
    except OSError as exc:
        raise CatalogueError(f"gamma_catalogue_path = {str(file)!r}: {exc.strerror}") from None
    return _load(str(file), stamp)


@functools.lru_cache(maxsize=4)
def _load(path: str, _stamp: int) -> Catalogue:
    from astropy.io import fits

    try:
        with fits.open(path) as hdus:
            table = next((h for h in hdus if isinstance(h, fits.BinTableHDU)), None)
            if table is None:
                raise CatalogueError(f"gamma_catalogue_path = {path!r}: no binary table")
            names = list(table.columns.names)
            for column in COLUMNS:
                if column not in names:
                    raise CatalogueError(
                        f"gamma_catalogue_path = {path!r}: column {column!r} missing "
                        f"(4FGL layout: {', '.join(COLUMNS)}; found {', '.join(names[:8])})"
                    )
            data = table.data
            source_names = tuple(str(n).strip() for n in data["Source_Name"])
            ra = np.asarray(data["RAJ2000"], dtype=np.float64)
            dec = np.asarray(data["DEJ2000"], dtype=np.float64)
    except OSError as exc:
        raise CatalogueError(f"gamma_catalogue_path = {path!r}: not a readable FITS file ({exc})") from None
    bad = ~(np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0))
    if bad.any():
        row = int(np.argmax(bad))
        raise CatalogueError(
            f"gamma_catalogue_path = {path!r}: row {row} ({source_names[row]!r}) has RAJ2000 = {ra[row]!r}, "
            f"DEJ2000 = {dec[row]!r}"
        )
    return Catalogue(source_names, ra % 360.0, dec)


def crossmatch(analysis: SkymapAnalysis, catalogue: Catalogue, catalogue_name: str) -> CatalogueMatch:
    """The catalogue's sources inside ``analysis``'s 90% region, and the nearest source."""
    if not catalogue.names:
        return CatalogueMatch(catalogue_name, (), None)
    moc = analysis.multiorder
    pixels = moc.lookup_radec(catalogue.ra_deg, catalogue.dec_deg)
    inside = analysis.mask_90[pixels]
    best = analysis.best_fit
    r1, d1 = np.radians(best.ra_deg), np.radians(best.dec_deg)
    r2, d2 = np.radians(catalogue.ra_deg), np.radians(catalogue.dec_deg)
    cos_d = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(r1 - r2)
    distances = np.degrees(np.arccos(np.clip(cos_d, -1.0, 1.0)))

    def source(i: int) -> CatalogueSource:
        ra, dec = float(catalogue.ra_deg[i]), float(catalogue.dec_deg[i])
        return CatalogueSource(catalogue.names[i], ra, dec, float(distances[i]))

    order = np.argsort(distances, kind="stable")
    listed = tuple(source(int(i)) for i in order if inside[int(i)])
    return CatalogueMatch(catalogue_name, listed, source(int(order[0])))
