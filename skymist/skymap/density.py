"""The probability map published with a localization, consistent with its stated 50% / 90% regions.

For the ``hpd`` threshold set the regions are the highest-posterior-density regions of
p ~ exp(-Delta llh) = exp(-2DLLH / 2), so that density is published as is.

For threshold sets given as 2DLLH levels (``wilks``, ``calibrated``) exp(-Delta llh) contradicts the
regions: IceCat-1's calibrated 22.2 / 64.2 regions of a real scan are ~10x larger than that density's
own credible regions. The published density is then exp(-T / 2) with T a monotone, continuous,
piecewise-linear rescaling of 2DLLH with its knot at the 50% level L50::

    T = s50 * 2DLLH                         for 2DLLH <= L50
    T = s50 * L50 + s90 * (2DLLH - L50)     beyond

(s50, s90 > 0, found by bisection), chosen so that the region {2DLLH <= L50} holds exactly 50% of the
probability and {2DLLH <= L90} exactly 90%. Because T grows with 2DLLH, the density falls
monotonically with 2DLLH, so the density's own 50% / 90% credible regions (what ligo.skymap computes)
are exactly the stated regions. Pixels that were not scanned (NaN) have zero density. When no positive
slope can reach a level (e.g. every scanned pixel inside the 90% region), the slope stays at the
nearest bound and :attr:`DensityCalibration.exact` is False; the probabilities reached are recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.multires import MultiOrderMap

__all__ = ["DensityCalibration", "calibrated_mass"]

_SLOPE_BOUNDS = (1e-6, 1e3)


@dataclass(frozen=True, slots=True)
class DensityCalibration:
    """How the published density was made from 2DLLH."""

    method: Literal["exp(-delta llh)", "rescaled 2dllh"]
    slope_50: float  # s50
    slope_90: float  # s90
    knot_2dllh: float  # L50 (0 for exp(-delta llh))
    probability_50: float  # probability inside the stated 50% region under the published density
    probability_90: float
    exact: bool

    def describe(self) -> str:
        if self.method == "exp(-delta llh)":
            return "PROBDENSITY ~ exp(-2DLLH/2), the density whose HPD regions are stated"
        return (
            f"PROBDENSITY ~ exp(-T/2), T = {self.slope_50:.6g}*2DLLH up to {self.knot_2dllh:g}, "
            f"then slope {self.slope_90:.6g}: monotone rescaling so the stated regions hold 50%/90%"
        )


def _log_mass(log_w: NDArray[np.float64], exponent: NDArray[np.float64]) -> float:
    """log(sum(w * exp(exponent))) without overflow; -inf for no pixels."""
    if log_w.size == 0:
        return -math.inf
    terms = log_w + exponent
    top = float(terms.max())
    return top + math.log(float(np.exp(terms - top).sum()))


def _bisect(f: object, target: float) -> tuple[float, bool]:
    """The slope s in the bounds with f(s) = target, f increasing in s; (s, exact)."""
    assert callable(f)
    lo, hi = (math.log(b) for b in _SLOPE_BOUNDS)
    f_lo, f_hi = f(math.exp(lo)), f(math.exp(hi))
    if f_lo >= target:
        return math.exp(lo), math.isclose(f_lo, target, abs_tol=1e-9)
    if f_hi <= target:
        return math.exp(hi), math.isclose(f_hi, target, abs_tol=1e-9)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(math.exp(mid)) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    return math.exp(0.5 * (lo + hi)), True


def calibrated_mass(
    moc: MultiOrderMap, mask_50: NDArray[np.bool_], mask_90: NDArray[np.bool_], level_50: float
) -> tuple[NDArray[np.float64], DensityCalibration]:
    """Probability of each multi-order pixel (sum 1) under the rescaled density, and how it was made."""
    ts = moc.two_delta_llh
    finite = np.isfinite(ts)
    log_w = np.log(moc.area_sr)
    inner = mask_50 & finite
    middle = mask_90 & ~mask_50 & finite
    outer = finite & ~mask_90
    beyond = ts - level_50

    def ratio_middle_outer(s90: float) -> float:  # log(mass B / mass C), increasing in s90
        return _log_mass(log_w[middle], -0.5 * s90 * beyond[middle]) - _log_mass(
            log_w[outer], -0.5 * s90 * beyond[outer]
        )

    exact = True
    if middle.any() and outer.any():
        s90, exact = _bisect(ratio_middle_outer, math.log(0.4 / 0.1))
    else:
        s90 = 1.0
        exact = False
    log_out = float(
        np.logaddexp(
            _log_mass(log_w[middle], -0.5 * s90 * beyond[middle]),
            _log_mass(log_w[outer], -0.5 * s90 * beyond[outer]),
        )
    )

    def ratio_inner_rest(s50: float) -> float:  # log(mass A / mass beyond), increasing in s50
        return _log_mass(log_w[inner], 0.5 * s50 * (level_50 - ts[inner])) - log_out

    if math.isfinite(log_out):
        s50, exact_50 = _bisect(ratio_inner_rest, 0.0)
        exact = exact and exact_50
    else:
        s50, exact = 1.0, False
    t = np.where(ts <= level_50, s50 * ts, s50 * level_50 + s90 * beyond)
    log_p = np.where(finite, log_w - 0.5 * np.where(finite, t, 0.0), -np.inf)
    top = float(log_p[finite].max())
    weight = np.where(finite, np.exp(log_p - top), 0.0)
    mass: NDArray[np.float64] = weight / float(weight.sum())
    calibration = DensityCalibration(
        method="rescaled 2dllh",
        slope_50=s50,
        slope_90=s90,
        knot_2dllh=level_50,
        probability_50=float(mass[mask_50].sum()),
        probability_90=float(mass[mask_90].sum()),
        exact=exact,
    )
    return mass, calibration


def hpd_calibration(
    mass: NDArray[np.float64], mask_50: NDArray[np.bool_], mask_90: NDArray[np.bool_]
) -> DensityCalibration:
    """The calibration record of the plain exp(-Delta llh) density (``hpd`` regions)."""
    return DensityCalibration(
        method="exp(-delta llh)",
        slope_50=1.0,
        slope_90=1.0,
        knot_2dllh=0.0,
        probability_50=float(mass[mask_50].sum()),
        probability_90=float(mass[mask_90].sum()),
        exact=True,
    )
