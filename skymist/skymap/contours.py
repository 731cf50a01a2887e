"""Contour polygons of regions, for plots.

The region (a set of HEALPix pixels) is sampled on a regular RA/Dec grid a few times finer than the
finest pixels, around the best fit, and the 0/1 field is contoured at 1/2 (contourpy, matplotlib's
contouring engine). The lines follow the pixel boundaries of exactly the region whose area and box
are reported. RA on the lines is continuous around the best fit (it may leave [0, 360)).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.model import Contour, ErrorBox
from skymist.skymap.multires import MultiOrderMap

__all__ = ["GRID_MAX_POINTS", "region_contours", "sample_grid"]

#: at most this many grid points per axis
GRID_MAX_POINTS = 1200
_OVERSAMPLE = 3.0


def fine_pixel_size_deg(moc: MultiOrderMap) -> float:
    return math.degrees(math.sqrt(4.0 * math.pi / moc.npix_fine))


def sample_grid(
    moc: MultiOrderMap, box: ErrorBox, margin_deg: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """RA and Dec axes (degrees, RA continuous around the best fit) covering ``box`` plus a margin."""
    best = moc.best_fit
    size = fine_pixel_size_deg(moc)
    margin = 3.0 * size if margin_deg is None else margin_deg
    dec_lo = max(-90.0, best.dec_deg - box.dec_minus_deg - margin)
    dec_hi = min(90.0, best.dec_deg + box.dec_plus_deg + margin)
    widest = max(abs(dec_lo), abs(dec_hi))
    cos_dec = max(math.cos(math.radians(min(widest, 89.0))), 1e-3)
    ra_margin = margin / cos_dec
    ra_lo = best.ra_deg - min(box.ra_minus_deg + ra_margin, 180.0)
    ra_hi = best.ra_deg + min(box.ra_plus_deg + ra_margin, 180.0)
    step_dec = size / _OVERSAMPLE
    step_ra = step_dec / cos_dec
    n_dec = int(min(GRID_MAX_POINTS, max(8, math.ceil((dec_hi - dec_lo) / step_dec) + 1)))
    n_ra = int(min(GRID_MAX_POINTS, max(8, math.ceil((ra_hi - ra_lo) / step_ra) + 1)))
    return np.linspace(ra_lo, ra_hi, n_ra), np.linspace(dec_lo, dec_hi, n_dec)


def region_contours(moc: MultiOrderMap, mask: NDArray[np.bool_], box: ErrorBox) -> tuple[Contour, ...]:
    """Closed boundary lines of the region ``mask``."""
    import contourpy  # matplotlib's contouring engine (a dependency of matplotlib)

    if not mask.any():
        return ()
    ra_axis, dec_axis = sample_grid(moc, box)
    ra_grid, dec_grid = np.meshgrid(ra_axis, dec_axis)
    inside = mask[moc.lookup_radec(ra_grid.ravel(), dec_grid.ravel())].reshape(ra_grid.shape)
    field = np.zeros((dec_axis.size + 2, ra_axis.size + 2), dtype=np.float64)
    field[1:-1, 1:-1] = inside  # a frame of zeros closes every line
    ra_pad = np.concatenate(([ra_axis[0] - 1e-9], ra_axis, [ra_axis[-1] + 1e-9]))
    dec_pad = np.concatenate(([dec_axis[0] - 1e-9], dec_axis, [dec_axis[-1] + 1e-9]))
    generator = contourpy.contour_generator(
        ra_pad, dec_pad, field, line_type=contourpy.LineType.Separate, name="serial"
    )
    lines = generator.lines(0.5)
    out: list[Contour] = []
    for line in lines:
        pts = np.asarray(line, dtype=np.float64)
        if pts.shape[0] < 3:
            continue
        out.append(Contour(ra_deg=pts[:, 0].copy(), dec_deg=np.clip(pts[:, 1], -90.0, 90.0)))
    out.sort(key=lambda c: -c.ra_deg.size)
    return tuple(out)
