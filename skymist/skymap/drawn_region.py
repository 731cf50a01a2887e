"""The region as the picture draws it: finest pixels only, coarse pixels' steps smoothed away.

A stated region (the pixels with 2 Delta llh <= level) mixes pixel sizes: where the scan refined,
its edge follows the finest pixels; where it did not (e.g. nside 8 or 64 pixels at the rim of the
refined patch), it follows coarse diamonds, and a line drawn along it makes coarse steps.

The drawn region is a set of pixels at the map's finest nside built as follows:

* every fine pixel whose value comes from the finest scanned layer is drawn exactly as stated
  (inside or outside);
* every fine pixel whose value comes from a coarser layer (nside ``s``) gets a value interpolated at
  its centre from the 2 Delta llh field sampled at the centres of the nside-``s`` pixels
  (HEALPix bilinear weights, ``healpy.get_interp_weights``; unscanned samples are left out);
* of those coarse-sourced fine pixels inside the stated error box (the published extent), the ones
  with the lowest interpolated values are drawn, as many as the stated region has coarse-sourced
  fine pixels.

So the drawn region has exactly the stated number of finest pixels, hence exactly the stated area,
it stays inside the published box, and it is the stated region wherever the scan was finest; only
the parts made of coarse pixels are reshaped, following the interpolated map instead of the coarse
pixels' outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.errorbox import fine_pixels_box, ra_offset_deg, region_fine_pixels
from skymist.skymap.healpix import nest_to_radec_deg, nside_pixel_area_deg2
from skymist.skymap.model import ErrorBox
from skymist.skymap.multires import MultiOrderMap

__all__ = ["DrawnRegion", "drawn_region"]


@dataclass(frozen=True, eq=False, slots=True)
class DrawnRegion:
    """NESTED pixels at ``max_nside`` (sorted, unique) that the picture draws for one region."""

    max_nside: int
    fine_nest: NDArray[np.int64]
    #: extent of the drawn pixels' centres around the best fit (as the stated region's error box)
    box: ErrorBox

    @property
    def area_deg2(self) -> float:
        return float(self.fine_nest.size * nside_pixel_area_deg2(self.max_nside))

    def contains(self, fine_nest: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether each NESTED ``max_nside`` pixel is drawn."""
        if self.fine_nest.size == 0:
            return np.zeros(np.shape(fine_nest), dtype=bool)
        at = np.clip(np.searchsorted(self.fine_nest, fine_nest), 0, self.fine_nest.size - 1)
        result: NDArray[np.bool_] = self.fine_nest[at] == fine_nest
        return result


def _centre_values(moc: MultiOrderMap, nside: int, ring: NDArray[np.int64]) -> NDArray[np.float64]:
    """The map's 2 Delta llh at the centres of RING pixels of ``nside``."""
    import healpy as hp  # here, not at import: healpy imports matplotlib

    theta, phi = hp.pix2ang(nside, ring)
    values: NDArray[np.float64] = moc.two_delta_llh[
        moc.lookup_radec(np.degrees(phi), 90.0 - np.degrees(theta))
    ]
    return values


def _interpolated(moc: MultiOrderMap, nside: int, fine_nest: NDArray[np.int64]) -> NDArray[np.float64]:
    """2 Delta llh at the centres of ``fine_nest``, interpolated from the field sampled at nside."""
    import healpy as hp  # here, not at import: healpy imports matplotlib

    theta, phi = hp.pix2ang(moc.max_nside, fine_nest, nest=True)
    ring, weights = hp.get_interp_weights(nside, theta, phi)
    ring = np.asarray(ring, dtype=np.int64)
    unique, inverse = np.unique(ring, return_inverse=True)
    samples = _centre_values(moc, nside, unique)[inverse.reshape(ring.shape)]
    finite = np.isfinite(samples)
    w = np.where(finite, weights, 0.0)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: NDArray[np.float64] = np.where(
            total > 0.0, (w * np.where(finite, samples, 0.0)).sum(axis=0) / total, np.nan
        )
    return result


def _candidates(moc: MultiOrderMap, stated: NDArray[np.int64], box: ErrorBox) -> NDArray[np.int64]:
    """Fine pixels whose centres lie inside the stated region's box (RA and Dec extents around the
    best fit), found in a disc around the best fit that holds the whole box."""
    import healpy as hp  # here, not at import: healpy imports matplotlib

    best = moc.best_fit
    ra, dec = nest_to_radec_deg(moc.max_nside, stated)
    centre = hp.ang2vec(math.radians(90.0 - best.dec_deg), math.radians(best.ra_deg))
    vecs = np.asarray(hp.ang2vec(np.radians(90.0 - dec), np.radians(ra)))
    reach = float(np.arccos(np.clip(vecs @ centre, -1.0, 1.0)).max())
    # a box corner is at most sqrt(2) times the farthest region pixel's distance (plus a pixel)
    radius = min(math.sqrt(2.0) * reach + 2.0 * hp.nside2resol(moc.max_nside), math.pi)
    found: NDArray[np.int64] = np.asarray(
        hp.query_disc(moc.max_nside, centre, radius, inclusive=True, nest=True), dtype=np.int64
    )
    f_ra, f_dec = nest_to_radec_deg(moc.max_nside, found)
    dra = ra_offset_deg(f_ra, best.ra_deg)
    inside = (
        (dra >= -box.ra_minus_deg)
        & (dra <= box.ra_plus_deg)
        & (f_dec >= best.dec_deg - box.dec_minus_deg)
        & (f_dec <= best.dec_deg + box.dec_plus_deg)
    )
    result: NDArray[np.int64] = found[inside]
    return result


def drawn_region(moc: MultiOrderMap, mask: NDArray[np.bool_]) -> DrawnRegion:
    """The finest-pixel region drawn for the stated region ``mask`` (multi-order pixels)."""
    stated = np.sort(region_fine_pixels(moc, mask))
    source = moc.source_nside[moc.lookup_fine_nest(stated)]
    finest = source == moc.max_nside
    keep = stated[finest]
    n_coarse = int(stated.size - keep.size)
    if n_coarse == 0:
        return DrawnRegion(moc.max_nside, keep, fine_pixels_box(moc, keep))
    candidates = _candidates(moc, stated, fine_pixels_box(moc, stated))
    cand_source = moc.source_nside[moc.lookup_fine_nest(candidates)]
    coarse = (cand_source > 0) & (cand_source < moc.max_nside)
    candidates, cand_source = candidates[coarse], cand_source[coarse]
    values = np.full(candidates.size, np.nan)
    for nside in np.unique(cand_source):
        at = cand_source == nside
        values[at] = _interpolated(moc, int(nside), candidates[at])
    # the lowest interpolated values first (ties: lower pixel index), unscanned never
    order = np.lexsort((candidates, np.where(np.isfinite(values), values, np.inf)))
    chosen = candidates[order[:n_coarse]]
    drawn = np.union1d(keep, chosen)
    return DrawnRegion(moc.max_nside, drawn, fine_pixels_box(moc, drawn))
