"""Small vectorised HEALPix helpers (healpy underneath) shared by the skymap modules."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAX_NSIDE",
    "children_nested",
    "is_valid_nside",
    "mirror_ring",
    "nest_to_radec_deg",
    "nside_pixel_area_deg2",
    "ring_to_radec_deg",
    "uniq_to_nside_nest",
]

#: the largest nside HEALPix supports (order 29)
MAX_NSIDE = 1 << 29


def is_valid_nside(nside: int) -> bool:
    return 1 <= nside <= MAX_NSIDE and (nside & (nside - 1)) == 0


def nside_pixel_area_deg2(nside: int | NDArray[np.int64]) -> NDArray[np.float64]:
    """Pixel area in square degrees (4 pi sr / 12 nside^2), vectorised over ``nside``."""
    n = np.asarray(nside, dtype=np.float64)
    result: NDArray[np.float64] = (4.0 * np.pi / (12.0 * n * n)) * (180.0 / np.pi) ** 2
    return result


def mirror_ring(nside: int, ring: NDArray[np.int64]) -> NDArray[np.int64]:
    """RING index of the pixel mirrored through the equator (theta -> pi - theta, same phi).

    The HEALPix grid is symmetric about the equator, so this is an exact bijection of pixels.
    """
    import healpy as hp  # here, not at import: healpy imports matplotlib

    x, y, z = hp.pix2vec(nside, ring)
    out: NDArray[np.int64] = np.asarray(hp.vec2pix(nside, x, y, -z), dtype=np.int64)
    return out


def ring_to_radec_deg(nside: int, ring: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pixel-centre (RA, Dec) in degrees, current convention (Dec = 90 deg - theta)."""
    import healpy as hp  # here, not at import: healpy imports matplotlib

    theta, phi = hp.pix2ang(nside, ring)
    return np.degrees(phi), 90.0 - np.degrees(theta)


def nest_to_radec_deg(nside: int, nest: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pixel-centre (RA, Dec) in degrees of NESTED pixels."""
    import healpy as hp  # here, not at import: healpy imports matplotlib

    theta, phi = hp.pix2ang(nside, nest, nest=True)
    return np.degrees(phi), 90.0 - np.degrees(theta)


def uniq_to_nside_nest(uniq: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Split NUNIQ = 4 nside^2 + nest into (nside, nest)."""
    u = np.asarray(uniq, dtype=np.int64)
    order = (np.floor(np.log2(u)).astype(np.int64) - 2) // 2
    # guard against float rounding at exact powers of two
    order = np.where(np.left_shift(np.int64(4), 2 * (order + 1)) <= u, order + 1, order)
    order = np.where(np.left_shift(np.int64(4), 2 * order) > u, order - 1, order)
    nside = np.left_shift(np.int64(1), order)
    return nside, u - 4 * nside * nside


def children_nested(nest: NDArray[np.int64], factor2: int) -> NDArray[np.int64]:
    """All NESTED descendants, ``factor2`` = (fine nside / nside)^2 of them per pixel, in order."""
    nest = np.asarray(nest, dtype=np.int64)
    out: NDArray[np.int64] = (nest[:, None] * factor2 + np.arange(factor2, dtype=np.int64)[None, :]).ravel()
    return out
