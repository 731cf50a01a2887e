"""Multi-order HEALPix FITS skymap (NUNIQ): ``UNIQ`` and ``PROBDENSITY`` (sr^-1).

The pixels are those of the scan's multi-order map (see :mod:`skymist.skymap.multires`): they tile
the sphere, and PROBDENSITY times each pixel's solid angle sums to 1 (unscanned pixels: 0). The
density is the one whose own 50% / 90% credible regions are the stated regions
(:mod:`skymist.skymap.density`); the header says how it was made (``DENSITY``, ``DENSLOPE*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skymist.files import WrittenFile
from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.errors import SkymapInputError
from skymist.skymap.fits_header import header_cards
from skymist.skymap.fits_io import add_cards, write_hdulist
from skymist.skymap.healpix import uniq_to_nside_nest

__all__ = ["MultiOrderFile", "read_moc_fits", "write_moc_fits"]


def write_moc_fits(analysis: SkymapAnalysis, path: str | Path) -> WrittenFile:
    """Write the multi-order probability map (gzip when ``path`` ends in ``.gz``) atomically."""
    from astropy.io import fits

    moc = analysis.multiorder
    uniq = moc.uniq
    density = analysis.probability / moc.area_sr  # consistent with the stated regions
    order = np.argsort(uniq, kind="stable")
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="UNIQ", format="K", array=uniq[order]),
            fits.Column(name="PROBDENSITY", format="D", unit="sr-1", array=density[order]),
        ]
    )
    add_cards(
        table.header,
        [
            ("PIXTYPE", "HEALPIX", "HEALPIX pixelisation"),
            ("ORDERING", "NUNIQ", "pixel ordering scheme: NUNIQ = 4 nside^2 + nest"),
            ("COORDSYS", "C", "equatorial (J2000)"),
            ("MOCORDER", moc.max_nside.bit_length() - 1, "MOC resolution (best order)"),
            ("INDXSCHM", "EXPLICIT", "indexing: IMPLICIT or EXPLICIT"),
            *header_cards(analysis),
        ],
    )
    return write_hdulist(fits.HDUList([fits.PrimaryHDU(), table]), path)


@dataclass(frozen=True, eq=False, slots=True)
class MultiOrderFile:
    """A multi-order map read back."""

    uniq: NDArray[np.int64]
    nside: NDArray[np.int64]
    nest: NDArray[np.int64]
    probdensity_sr: NDArray[np.float64]
    header: dict[str, Any]

    @property
    def area_sr(self) -> NDArray[np.float64]:
        result: NDArray[np.float64] = 4.0 * np.pi / (12.0 * self.nside.astype(np.float64) ** 2)
        return result

    @property
    def total_probability(self) -> float:
        return float(np.sum(self.probdensity_sr * self.area_sr))


def read_moc_fits(path: str | Path) -> MultiOrderFile:
    """Read a multi-order map (``UNIQ`` + ``PROBDENSITY``)."""
    from astropy.io import fits

    with fits.open(path) as hdus:
        table = hdus[1]
        header = dict(table.header)
        names = [n.upper() for n in table.columns.names]
        for needed in ("UNIQ", "PROBDENSITY"):
            if needed not in names:
                raise SkymapInputError(str(path), "columns", names, f"missing {needed}")
        uniq = np.asarray(table.data["UNIQ"], dtype=np.int64)
        density = np.asarray(table.data["PROBDENSITY"], dtype=np.float64)
    if header.get("ORDERING") != "NUNIQ":
        raise SkymapInputError(str(path), "ORDERING", header.get("ORDERING"), "expected NUNIQ")
    nside, nest = uniq_to_nside_nest(uniq)
    return MultiOrderFile(uniq=uniq, nside=nside, nest=nest, probdensity_sr=density, header=header)
