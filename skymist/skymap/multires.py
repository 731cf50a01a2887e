"""The multi-resolution map of a scan: every scanned pixel, finer pixels over coarser ones.

A scan has one complete coarse layer (e.g. nside 8) and finer layers (64, 512) only around the best
fit. As skyreader does, the value of a sky position is the llh of the *finest* scanned pixel that
contains it (pixels without a finite llh never hide a coarser value). Instead of materialising the
full map at the finest nside for every computation, the map is kept as a multi-order list of
disjoint pixels (NUNIQ scheme) that tiles the whole sky: the parts of coarse pixels not covered by
finer ones, and the finer pixels themselves. Unscanned parts carry NaN.

All steps are vectorised: the coarse-to-fine painting is one broadcast assignment per layer, and
the multi-order list comes from a level-by-level uniformity test on the painted array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.errors import SkymapInputError
from skymist.skymap.healpix import nside_pixel_area_deg2
from skymist.skymap.model import BestFit, ScanResult

__all__ = ["MultiOrderMap", "build_multiorder"]


@dataclass(frozen=True, eq=False, slots=True)
class MultiOrderMap:
    """Disjoint pixels tiling the sphere, sorted by their first NESTED sub-pixel at ``max_nside``."""

    max_nside: int
    nside: NDArray[np.int64]
    nest: NDArray[np.int64]
    #: llh of the scanned pixel that gives this pixel its value (NaN: not scanned)
    llh: NDArray[np.float64]
    #: nside of that scanned pixel (0: not scanned)
    source_nside: NDArray[np.int64]
    #: first NESTED pixel at ``max_nside`` inside this pixel, ascending
    fine_start: NDArray[np.int64]
    #: number of ``max_nside`` pixels inside this pixel
    fine_count: NDArray[np.int64]
    best_fit: BestFit

    @property
    def uniq(self) -> NDArray[np.int64]:
        result: NDArray[np.int64] = 4 * self.nside * self.nside + self.nest
        return result

    @property
    def area_deg2(self) -> NDArray[np.float64]:
        return nside_pixel_area_deg2(self.nside)

    @property
    def area_sr(self) -> NDArray[np.float64]:
        result: NDArray[np.float64] = 4.0 * np.pi / (12.0 * self.nside.astype(np.float64) ** 2)
        return result

    @property
    def npix_fine(self) -> int:
        return 12 * self.max_nside * self.max_nside

    @property
    def two_delta_llh(self) -> NDArray[np.float64]:
        """2 * (llh - llh of the best fit) per pixel (NaN where not scanned)."""
        result: NDArray[np.float64] = 2.0 * (self.llh - self.best_fit.llh)
        return result

    def lookup_fine_nest(self, fine_nest: NDArray[np.int64]) -> NDArray[np.int64]:
        """Index into this list of the pixel holding each NESTED ``max_nside`` pixel."""
        found: NDArray[np.int64] = np.searchsorted(self.fine_start, fine_nest, side="right") - 1
        return found

    def lookup_radec(self, ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64]) -> NDArray[np.int64]:
        """Index into this list of the pixel holding each (RA, Dec) position (degrees)."""
        import healpy as hp  # here, not at import: healpy imports matplotlib

        theta = np.radians(90.0 - np.clip(dec_deg, -90.0, 90.0))
        phi = np.radians(np.mod(ra_deg, 360.0))
        fine = np.asarray(hp.ang2pix(self.max_nside, theta, phi, nest=True), dtype=np.int64)
        return self.lookup_fine_nest(fine)

    def to_fine_nest(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Expand per-pixel ``values`` to the full NESTED map at ``max_nside``."""
        result: NDArray[np.float64] = np.repeat(values, self.fine_count)
        return result

    def to_fine_ring(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Expand per-pixel ``values`` to the full RING map at ``max_nside``."""
        import healpy as hp  # here, not at import: healpy imports matplotlib

        nest_map = self.to_fine_nest(values)
        ring_to_nest = np.asarray(
            hp.ring2nest(self.max_nside, np.arange(self.npix_fine, dtype=np.int64)), dtype=np.int64
        )
        result: NDArray[np.float64] = nest_map[ring_to_nest]
        return result


def build_multiorder(scan: ScanResult) -> MultiOrderMap:
    """The multi-order map of ``scan`` and its best fit (minimum llh over all nsides)."""
    import healpy as hp  # here, not at import: healpy imports matplotlib

    layers = [layer for layer in scan.layers if len(layer)]
    if not layers:
        raise SkymapInputError(scan.source, "result", "no pixels", "every nside is empty")
    max_nside = max(layer.nside for layer in layers)
    npix = 12 * max_nside * max_nside
    # id of the scanned pixel painted on each NESTED fine pixel (-1: none)
    painted = np.full(npix, -1, dtype=np.int32 if scan.n_pixels < 2**31 - 1 else np.int64)
    llh_parts: list[NDArray[np.float64]] = []
    nside_parts: list[NDArray[np.int64]] = []
    ring_parts: list[NDArray[np.int64]] = []
    offset = 0
    for layer in layers:  # ascending nside: finer layers overwrite coarser ones
        finite = np.isfinite(layer.llh)
        ring = layer.index[finite]
        if ring.size == 0:
            continue
        nest = np.asarray(hp.ring2nest(layer.nside, ring), dtype=np.int64)
        ids = np.arange(offset, offset + ring.size, dtype=painted.dtype)
        factor2 = (max_nside // layer.nside) ** 2
        painted.reshape(-1, factor2)[nest] = ids[:, None]
        llh_parts.append(layer.llh[finite])
        nside_parts.append(np.full(ring.size, layer.nside, dtype=np.int64))
        ring_parts.append(ring)
        offset += ring.size
    all_llh = np.concatenate(llh_parts)
    all_nside = np.concatenate(nside_parts)
    all_ring = np.concatenate(ring_parts)

    best = int(np.argmin(all_llh))  # first minimum, coarse layers first (as skyreader)
    best_nside = int(all_nside[best])
    best_ring = int(all_ring[best])
    theta, phi = hp.pix2ang(best_nside, best_ring)
    best_fit = BestFit(
        ra_deg=float(np.degrees(phi)),
        dec_deg=float(90.0 - np.degrees(theta)),
        nside=best_nside,
        pixel=best_ring,
        llh=float(all_llh[best]),
    )

    # level-by-level: emit blocks painted by a single source, split the others into 4 children
    out_nside: list[NDArray[np.int64]] = []
    out_nest: list[NDArray[np.int64]] = []
    out_src: list[NDArray[np.int64]] = []
    nside = min(layer.nside for layer in layers)
    candidates = np.arange(12 * nside * nside, dtype=np.int64)
    while candidates.size:
        factor2 = (max_nside // nside) ** 2
        blocks = painted.reshape(-1, factor2)
        if candidates.size != blocks.shape[0]:
            blocks = blocks[candidates]
        first = blocks[:, 0]
        uniform = blocks.min(axis=1) == blocks.max(axis=1)
        out_nside.append(np.full(int(uniform.sum()), nside, dtype=np.int64))
        out_nest.append(candidates[uniform])
        out_src.append(first[uniform].astype(np.int64))
        split = candidates[~uniform]
        candidates = (split[:, None] * 4 + np.arange(4, dtype=np.int64)[None, :]).ravel()
        nside *= 2
    moc_nside = np.concatenate(out_nside)
    moc_nest = np.concatenate(out_nest)
    src = np.concatenate(out_src)
    fine_count = (max_nside // moc_nside) ** 2
    fine_start = moc_nest * fine_count
    order = np.argsort(fine_start, kind="stable")
    moc_nside, moc_nest, src = moc_nside[order], moc_nest[order], src[order]
    fine_count, fine_start = fine_count[order], fine_start[order]
    scanned = src >= 0
    llh = np.full(src.size, np.nan)
    llh[scanned] = all_llh[src[scanned]]
    source_nside = np.zeros(src.size, dtype=np.int64)
    source_nside[scanned] = all_nside[src[scanned]]
    return MultiOrderMap(
        max_nside=max_nside,
        nside=moc_nside,
        nest=moc_nest,
        llh=llh,
        source_nside=source_nside,
        fine_start=fine_start,
        fine_count=fine_count,
        best_fit=best_fit,
    )
