"""Flat HEALPix FITS skymap: the whole sky at the finest scanned nside, RING, equatorial (C).

Column ``2DLLH`` (2 * Delta llh, NaN where not scanned) or ``PROB`` (probability per pixel, unit
``pix-1``, summing to 1), with the product header (see :mod:`skymist.skymap.fits_header`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from skymist.files import WrittenFile
from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.errors import SkymapInputError
from skymist.skymap.fits_header import header_cards
from skymist.skymap.fits_io import add_cards, write_hdulist

__all__ = ["FlatColumn", "FlatMap", "flat_map_values", "read_flat_fits", "write_flat_fits"]

FlatColumn = Literal["2DLLH", "PROB"]


def flat_map_values(analysis: SkymapAnalysis, column: FlatColumn = "2DLLH") -> NDArray[np.float64]:
    """The full-sky RING map at ``analysis.max_nside`` for ``column``."""
    moc = analysis.multiorder
    if column == "2DLLH":
        return moc.to_fine_ring(moc.two_delta_llh)
    if column == "PROB":
        per_fine = analysis.probability / moc.fine_count  # the density of the multi-order map
        return moc.to_fine_ring(per_fine)
    raise SkymapInputError("", "column", column, "expected '2DLLH' or 'PROB'")


def write_flat_fits(analysis: SkymapAnalysis, path: str | Path, column: FlatColumn = "2DLLH") -> WrittenFile:
    """Write the flat map (gzip-compressed when ``path`` ends in ``.gz``) atomically."""
    from astropy.io import fits

    values = flat_map_values(analysis, column).astype(np.float32)
    nside = analysis.max_nside
    npix = values.size
    per_row = min(1024, npix)
    col = fits.Column(
        name=column,
        format=f"{per_row}E",
        unit="pix-1" if column == "PROB" else None,
        array=values.reshape(-1, per_row),
    )
    table = fits.BinTableHDU.from_columns([col])
    hdr = table.header
    add_cards(
        hdr,
        [
            ("EXTNAME", "xtension", ""),
            ("PIXTYPE", "HEALPIX", "HEALPIX pixelisation"),
            ("ORDERING", "RING", "pixel ordering scheme"),
            ("COORDSYS", "C", "equatorial (J2000)"),
            ("NSIDE", nside, "resolution parameter of HEALPIX"),
            ("FIRSTPIX", 0, "first pixel # (0 based)"),
            ("LASTPIX", npix - 1, "last pixel # (0 based)"),
            ("INDXSCHM", "IMPLICIT", "indexing: IMPLICIT or EXPLICIT"),
            ("OBJECT", "FULLSKY", "sky coverage"),
            *header_cards(analysis),
        ],
    )
    return write_hdulist(fits.HDUList([fits.PrimaryHDU(), table]), path)


@dataclass(frozen=True, eq=False, slots=True)
class FlatMap:
    """A flat map read back: RING values and the extension header as a dict."""

    nside: int
    column: str
    values: NDArray[np.float64]
    header: dict[str, Any]


def read_flat_fits(path: str | Path) -> FlatMap:
    """Read a flat map written by :func:`write_flat_fits` (or any single-column HEALPix table)."""
    from astropy.io import fits

    with fits.open(path) as hdus:
        table = hdus[1]
        header = dict(table.header)
        name = table.columns.names[0]
        values = np.asarray(table.data[name], dtype=np.float64).ravel()
    if header.get("ORDERING") != "RING":
        raise SkymapInputError(str(path), "ORDERING", header.get("ORDERING"), "expected RING")
    return FlatMap(nside=int(header["NSIDE"]), column=name, values=values, header=header)
