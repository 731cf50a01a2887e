"""Error box: the extent of a region around the best fit.

The extent is taken over the centres of the finest-nside pixels inside the region (a coarse pixel
in the region contributes all of its sub-pixels), as IceCat-1 does. RA offsets are measured from the
best-fit RA in (-180, 180] so a region across RA 0/360 gives small offsets on both sides; they are
plain RA degrees, not multiplied by cos Dec.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.healpix import children_nested, nest_to_radec_deg
from skymist.skymap.model import ErrorBox
from skymist.skymap.multires import MultiOrderMap

__all__ = ["error_box", "fine_pixels_box", "ra_offset_deg", "region_fine_pixels"]


def ra_offset_deg(ra_deg: NDArray[np.float64], ra0_deg: float) -> NDArray[np.float64]:
    """RA minus ``ra0_deg`` wrapped to [-180, 180)."""
    result: NDArray[np.float64] = np.mod(ra_deg - ra0_deg + 180.0, 360.0) - 180.0
    return result


def region_fine_pixels(moc: MultiOrderMap, mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """NESTED pixels at ``moc.max_nside`` inside the region ``mask`` (one array op per nside)."""
    parts: list[NDArray[np.int64]] = []
    nsides = moc.nside[mask]
    nests = moc.nest[mask]
    for nside in np.unique(nsides):
        factor2 = (moc.max_nside // int(nside)) ** 2
        parts.append(children_nested(nests[nsides == nside], factor2))
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(parts)


def error_box(moc: MultiOrderMap, mask: NDArray[np.bool_]) -> ErrorBox:
    """Extent of the region ``mask`` around ``moc.best_fit``."""
    return fine_pixels_box(moc, region_fine_pixels(moc, mask))


def fine_pixels_box(moc: MultiOrderMap, fine: NDArray[np.int64]) -> ErrorBox:
    """Extent around ``moc.best_fit`` of finest-order (``moc.max_nside``, nested) pixels."""
    if fine.size == 0:
        return ErrorBox(0.0, 0.0, 0.0, 0.0)
    ra, dec = nest_to_radec_deg(moc.max_nside, fine)
    best = moc.best_fit
    dra = ra_offset_deg(ra, best.ra_deg)
    return ErrorBox(
        ra_plus_deg=float(max(dra.max(), 0.0)),
        ra_minus_deg=float(max(-dra.min(), 0.0)),
        dec_plus_deg=float(max(dec.max() - best.dec_deg, 0.0)),
        dec_minus_deg=float(max(best.dec_deg - dec.min(), 0.0)),
    )
