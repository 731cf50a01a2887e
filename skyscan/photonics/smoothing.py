"""From Monte Carlo histograms to smooth tables (scipy splines, weighted by the Monte Carlo's errors).

- Photoelectrons: per depth, ``log(rho x PE)`` over (sqrt(rho), cos eta) is fitted by a weighted
  least-squares tensor-product cubic B-spline (``scipy.interpolate.LSQBivariateSpline``; interior knots
  uniform: 6 in sqrt(rho), 2 in cos eta; weights 1 / the relative error, with a 2% floor for what the
  binning itself leaves out). rho x PE, not PE, because it is flat near the track (direct light falls
  as 1 / rho) and nearly exponential far from it.
- Arrival-time residual: per (depth, cos eta, rho) cell, the log of the density in w = asinh(t / 5 ns)
  is fitted by a weighted least-squares cubic spline (``scipy.interpolate.LSQUnivariateSpline``,
  weights 1 / the relative error with the 2% floor) whose interior knots sit at the 1, 3, 10, 20, 35,
  50, 65, 80, 90, 97, 99% quantiles of the cell's own distribution (at least 1.5 bins apart): dense
  where the light is, so the prompt peak near the track is kept and the sparse tail is not chased;
  zero outside the filled bins. It is evaluated on a fine w grid and normalised (trapezoid in w) so
  the PDF integrates to 1 over the table's residual range; the CDF is its running integral. A cell
  with too few photons (relative error of its total > 30%) takes the shape of the nearest good cell
  closer to the track (counted in the provenance as ``borrowed_time_cells``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import interpolate

from skyscan.photonics.montecarlo import LightHistogram

FloatArray = npt.NDArray[np.float64]

SYSTEMATIC_FLOOR = 0.02
MAX_RELATIVE_ERROR = 0.3
N_FINE_T = 80
#: knots of the time splines sit at these quantiles of the cell's own residual distribution
KNOT_QUANTILES = (0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97, 0.99)
_LOG_FLOOR = -60.0


@dataclass(frozen=True)
class SmoothCells:
    """One histogram, smoothed: log(rho x PE) on (cos, rho) centres, log PDF (per ns) on the fine w grid."""

    log_rho_pe: FloatArray  # (n_cos, n_rho)
    log_pdf: FloatArray  # (n_cos, n_rho, N_FINE_T)
    borrowed_time_cells: int


def fine_w_grid(w_lo: float, w_hi: float) -> FloatArray:
    return np.linspace(w_lo, w_hi, N_FINE_T)


def smooth_pe(histogram: LightHistogram) -> FloatArray:
    """(n_cos, n_rho) smoothed log(rho x PE) at the bin centres."""
    bins = histogram.binning
    total, error = histogram.total()  # (n_rho, n_cos)
    rho = bins.rho_centres()
    x = np.sqrt(rho)
    y = bins.cos_centres()
    positive = total > 0.0
    floor = total[positive].min() * 0.1 if positive.any() else 1e-30
    value = np.where(positive, total, floor)
    relative = np.where(positive, error / value, 10.0)
    sigma = np.sqrt(relative**2 + SYSTEMATIC_FLOOR**2)
    z = np.log(rho[:, None] * value)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    tx = np.linspace(x[0], x[-1], 8)[1:-1]
    ty = np.linspace(y[0], y[-1], 4)[1:-1]
    spline = interpolate.LSQBivariateSpline(
        xx.ravel(), yy.ravel(), z.ravel(), tx, ty, w=1.0 / sigma.ravel(), kx=3, ky=3
    )
    out: FloatArray = np.asarray(spline(x, y, grid=True), dtype=np.float64).T
    return out


def _cell_log_pdf(
    pe: FloatArray, pe_error: FloatArray, total: float, w_edges: FloatArray, w_fine: FloatArray
) -> FloatArray:
    """Smoothed log density per unit w of one cell on ``w_fine`` (log floor outside the data)."""
    w_mid = 0.5 * (w_edges[1:] + w_edges[:-1])
    dw = np.diff(w_edges)
    density = pe / total / dw
    sigma = pe_error / total / dw
    nonzero = np.flatnonzero(density > 0.0)
    lo, hi = int(nonzero[0]), int(nonzero[-1])
    gap = 1.5 * float(dw[0])
    cdf = np.cumsum(pe) / total
    knots: list[float] = []
    for q in np.interp(KNOT_QUANTILES, cdf, w_edges[1:]):
        if w_mid[lo] + gap < q < w_mid[hi] - gap and (not knots or q - knots[-1] > gap):
            knots.append(float(q))
    x = w_mid[lo : hi + 1]
    d = density[lo : hi + 1]
    y = np.log(np.maximum(d, density[nonzero].min() * 0.2))
    rel = np.where(d > 0.0, sigma[lo : hi + 1] / np.maximum(d, 1e-300), 3.0)
    rel = np.sqrt(np.maximum(rel, 0.01) ** 2 + SYSTEMATIC_FLOOR**2)
    inside = (w_fine >= x[0] - 0.5 * dw[0]) & (w_fine <= x[-1] + 0.5 * dw[0])
    if x.size < 5:  # too few filled bins for a cubic: the histogram itself, stepwise
        log_p = np.interp(w_fine, x, y)
    else:
        spline = interpolate.LSQUnivariateSpline(x, y, knots, w=1.0 / rel, k=3)
        log_p = spline(w_fine)
    out: FloatArray = np.where(inside, np.clip(log_p, _LOG_FLOOR, 50.0), _LOG_FLOOR)
    return out


def smooth_time(histogram: LightHistogram) -> tuple[FloatArray, int]:
    """(n_cos, n_rho, N_FINE_T) log PDF per ns of the residual on the fine grid, and the borrowed cells."""
    bins = histogram.binning
    w_edges = bins.w_edges()
    w_fine = fine_w_grid(bins.w_lo, bins.w_hi)
    jacobian = bins.t_scale_ns * np.cosh(w_fine)  # dt/dw
    total, total_error = histogram.total()
    out = np.full((bins.n_cos, bins.n_rho, N_FINE_T), _LOG_FLOOR)
    borrowed = 0
    for ic in range(bins.n_cos):
        last_good: FloatArray | None = None
        for ir in range(bins.n_rho):
            f = total[ir, ic]
            if not (f > 0.0 and total_error[ir, ic] / f <= MAX_RELATIVE_ERROR):
                borrowed += 1
                if last_good is not None:
                    out[ic, ir] = last_good
                continue
            log_p_w = _cell_log_pdf(histogram.pe[ir, ic], histogram.pe_error[ir, ic], f, w_edges, w_fine)
            p_w = np.exp(log_p_w)
            p_w /= np.trapezoid(p_w, w_fine)
            log_pdf = np.log(np.maximum(p_w / jacobian, np.exp(_LOG_FLOOR)))
            out[ic, ir] = log_pdf
            last_good = log_pdf
    return out, borrowed


def smooth(histogram: LightHistogram) -> SmoothCells:
    log_pdf, borrowed = smooth_time(histogram)
    return SmoothCells(smooth_pe(histogram), log_pdf, borrowed)
