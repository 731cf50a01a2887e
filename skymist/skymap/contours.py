"""Contour polygons of regions, for plots.

The region is drawn on the map's finest pixels (:mod:`skymist.skymap.drawn_region`: the stated region
where the scan was finest, its coarse pixels reshaped along the interpolated map, the same number of
finest pixels, hence the same area). That pixel set is sampled on a regular RA/Dec grid a few times
finer than the finest pixels, around the best fit, and the 0/1 field is contoured at 1/2 (contourpy,
matplotlib's contouring engine): the lines follow finest-pixel edges only. RA on the lines is
continuous around the best fit (it may leave [0, 360)).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.drawn_region import DrawnRegion
from skymist.skymap.model import Contour, ErrorBox
from skymist.skymap.multires import MultiOrderMap

__all__ = ["GRID_MAX_POINTS", "region_contours", "sample_grid"]

#: at most this many grid points per axis
GRID_MAX_POINTS = 1200
_OVERSAMPLE = 3.0


def fine_pixel_size_deg(moc: MultiOrderMap) -> float:
    return math.degrees(math.sqrt(4.0 * math.pi / moc.npix_fine))


def _cos_dec(dec_axis: NDArray[np.float64]) -> float:
    """cos Dec at the grid's Dec farthest from the equator (as :func:`sample_grid` steps RA)."""
    widest = max(abs(float(dec_axis[0])), abs(float(dec_axis[-1])))
    return math.cos(math.radians(min(widest, 89.0)))


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


def _area_keeping_level(
    smooth: NDArray[np.float64], inside: NDArray[np.float64], row_weight: NDArray[np.float64]
) -> float:
    """The level of the blurred field whose super-level set covers as much sky (grid cells weighted
    by cos Dec of their row) as the pixels themselves: a blur alone rounds the line inwards at
    convex bends and would shrink the drawn area by up to a few percent."""
    weights = np.broadcast_to(row_weight[:, None], smooth.shape).ravel()
    target = float((inside.ravel() * weights).sum())
    order = np.argsort(smooth.ravel())[::-1]
    covered = np.cumsum(weights[order])
    at = int(np.clip(np.searchsorted(covered, target), 0, order.size - 1))
    value = float(smooth.ravel()[order[at]])
    return min(max(value, 1e-6), 1.0 - 1e-6)


def region_contours(moc: MultiOrderMap, drawn: DrawnRegion) -> tuple[Contour, ...]:
    """Closed boundary lines of the drawn region (finest pixels)."""
    import contourpy  # matplotlib's contouring engine (a dependency of matplotlib)
    import healpy as hp  # here, not at import: healpy imports matplotlib
    from scipy.ndimage import gaussian_filter

    if drawn.fine_nest.size == 0:
        return ()
    ra_axis, dec_axis = sample_grid(moc, drawn.box)
    ra_grid, dec_grid = np.meshgrid(ra_axis, dec_axis)
    theta = np.radians(90.0 - np.clip(dec_grid.ravel(), -90.0, 90.0))
    phi = np.radians(np.mod(ra_grid.ravel(), 360.0))
    fine = np.asarray(hp.ang2pix(moc.max_nside, theta, phi, nest=True), dtype=np.int64)
    inside = drawn.contains(fine).reshape(ra_grid.shape).astype(np.float64)
    # a blur of one finest pixel rounds the pixels' diamond staircase into a line that stays within
    # about a pixel of their edges (the grid's margin of 3 pixels keeps the blur off its border)
    blur = fine_pixel_size_deg(moc)
    step_ra = float(ra_axis[1] - ra_axis[0]) * max(_cos_dec(dec_axis), 1e-3)
    step_dec = float(dec_axis[1] - dec_axis[0])
    smooth = gaussian_filter(inside, sigma=(blur / step_dec, blur / step_ra), mode="constant")
    field = np.zeros((dec_axis.size + 2, ra_axis.size + 2), dtype=np.float64)
    field[1:-1, 1:-1] = smooth  # a frame of zeros closes every line
    level = _area_keeping_level(smooth, inside, np.cos(np.radians(dec_axis)))
    ra_pad = np.concatenate(([ra_axis[0] - 1e-9], ra_axis, [ra_axis[-1] + 1e-9]))
    dec_pad = np.concatenate(([dec_axis[0] - 1e-9], dec_axis, [dec_axis[-1] + 1e-9]))
    generator = contourpy.contour_generator(
        ra_pad, dec_pad, field, line_type=contourpy.LineType.Separate, name="serial"
    )
    lines = generator.lines(level)
    out: list[Contour] = []
    for line in lines:
        pts = np.asarray(line, dtype=np.float64)
        if pts.shape[0] < 3:
            continue
        out.append(Contour(ra_deg=pts[:, 0].copy(), dec_deg=np.clip(pts[:, 1], -90.0, 90.0)))
    out.sort(key=lambda c: -c.ra_deg.size)
    return tuple(out)
