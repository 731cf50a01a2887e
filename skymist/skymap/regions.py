"""50% / 90% regions of a multi-order map for a named threshold set.

Every region is "the pixels with 2 * Delta llh <= level". For the ``wilks`` and ``calibrated``
sets the level is given; for ``hpd`` it is the smallest level whose region holds the requested
probability of p ~ exp(-Delta llh) (a density per solid angle, normalised over the sphere), which is
exactly the highest-posterior-density region because the density falls monotonically with Delta llh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.model import ThresholdSet
from skymist.skymap.multires import MultiOrderMap

__all__ = ["RegionPixels", "probability_density_sr", "probability_mass", "select_region"]


@dataclass(frozen=True, eq=False, slots=True)
class RegionPixels:
    """The multi-order pixels of one region and its sizes."""

    containment: float
    two_delta_llh_level: float
    mask: NDArray[np.bool_]
    area_deg2: float
    n_fine_pixels: int
    probability: float


def probability_mass(moc: MultiOrderMap) -> NDArray[np.float64]:
    """Probability of each multi-order pixel, p ~ exp(-Delta llh) times its solid angle, sum 1."""
    delta = moc.llh - moc.best_fit.llh
    weight = (
        np.where(np.isfinite(delta), np.exp(-np.where(np.isfinite(delta), delta, 0.0)), 0.0) * moc.area_sr
    )
    total = float(weight.sum())
    result: NDArray[np.float64] = weight / total
    return result


def probability_density_sr(moc: MultiOrderMap) -> NDArray[np.float64]:
    """Probability density (sr^-1) of each multi-order pixel; integrates to 1 over the sphere."""
    result: NDArray[np.float64] = probability_mass(moc) / moc.area_sr
    return result


def select_region(
    moc: MultiOrderMap, thresholds: ThresholdSet, which: float, mass: NDArray[np.float64] | None = None
) -> RegionPixels:
    """The region for containment ``which`` (0.5 or 0.9) of ``thresholds``."""
    if which not in (0.5, 0.9):
        raise ValueError(f"containment must be 0.5 or 0.9, not {which!r}")
    ts = moc.two_delta_llh
    if mass is None:
        mass = probability_mass(moc)
    given = thresholds.level_50 if which == 0.5 else thresholds.level_90
    level = float(given) if thresholds.kind == "two_delta_llh" else credible_level(ts, mass, float(given))
    with np.errstate(invalid="ignore"):
        mask = ts <= level  # NaN (not scanned) is never inside
    return RegionPixels(
        containment=which,
        two_delta_llh_level=level,
        mask=mask,
        area_deg2=float(moc.area_deg2[mask].sum()),
        n_fine_pixels=int(moc.fine_count[mask].sum()),
        probability=float(mass[mask].sum()),
    )


def credible_level(ts: NDArray[np.float64], mass: NDArray[np.float64], credibility: float) -> float:
    """Smallest 2 * Delta llh level whose region {ts <= level} holds ``credibility`` of ``mass``."""
    finite = np.isfinite(ts)
    order = np.argsort(ts[finite], kind="stable")
    sorted_ts = ts[finite][order]
    cumulative = np.cumsum(mass[finite][order])
    # guard against the cumulative sum ending a hair below 1 through rounding
    target = min(credibility, float(cumulative[-1]))
    i = int(np.searchsorted(cumulative, target * (1.0 - 1e-12), side="left"))
    return float(sorted_ts[min(i, sorted_ts.size - 1)])
