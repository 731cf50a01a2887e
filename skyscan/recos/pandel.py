"""The photon arrival-time model of the ``pandel_mpe`` reco: a Pandel PDF convolved with PMT jitter.

Pandel's function (D. Pandel 1996; as used in AMANDA/IceCube: J. Ahrens et al., NIM A 524 (2004) 169,
section 4.1, and N. van Eijndhoven et al., Astropart. Phys. 28 (2007) 456) gives the delay t >= 0 of a
photon behind the direct Cherenkov time at distance d as a Gamma distribution:

    p(t | d) = b^a t^(a-1) exp(-b t) / Gamma(a),    a = d / lambda,   b = 1/tau + c_ice / lambda_a,

with lambda = 33.3 m, tau = 557 ns, lambda_a = 98 m (the AMANDA/IceCube bulk-ice values) and
c_ice = c / n_group. Depth dependence: lambda_a is scaled per DOM by the ratio of the local absorption
length of the shipped ice table to its mean over the instrumented depths (``skybase.i3.geometry.IceTable``;
see :func:`skyscan.recos.track_llh.ice_scaled`).

Jitter: delays are convolved with a Gaussian of width ``jitter_ns``; in units of u = b t the width is
taken as b_ref * jitter_ns with the bulk b_ref (a DOM in clearer or dustier ice gets a slightly scaled
jitter: an approximation that keeps the tables two-dimensional). :class:`PandelTables` tabulates, on a
grid of a (log-spaced) and of u (asinh-spaced, fine near 0), ``log g~(a, u)`` (the convolved PDF) and
``log S~(a, u)`` (its survival function, 1 - CDF), computed once per process by a direct numerical
convolution of the exact Gamma CDF's cell masses near u = 0 and the exact Gamma functions beyond.
Lookups interpolate bilinearly, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]

PANDEL_LAMBDA_M = 33.3
PANDEL_TAU_NS = 557.0
PANDEL_ABSORPTION_M = 98.0
N_PHASE = 1.3195  # IceCube's phase refractive index of ice (400 nm)
N_GROUP = 1.35634  # and group index
C_VACUUM_M_PER_NS = 0.299792458
C_ICE_M_PER_NS = C_VACUUM_M_PER_NS / N_GROUP
B_REF_PER_NS = 1.0 / PANDEL_TAU_NS + C_ICE_M_PER_NS / PANDEL_ABSORPTION_M

_A_MIN, _A_MAX, _N_A = 0.02, 80.0, 160
_U_SCALE = 0.05  # asinh scale of the u grid
_U_MAX = 160.0
_N_W = 1000
_LOG_FLOOR = -700.0


@dataclass(frozen=True)
class PandelTables:
    """Tabulated log PDF and log survival of the jitter-convolved Pandel in (log a, asinh(u / 0.05))."""

    jitter_u: float
    log_a: FloatArray
    w: FloatArray
    log_pdf: FloatArray  # [a, w]
    log_surv: FloatArray  # [a, w]
    #: per grid cell, the bilinear coefficients of both tables: (cells, 8), derived from the two above
    cells: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        coefficients = [_bilinear(table) for table in (self.log_pdf, self.log_surv)]
        object.__setattr__(self, "cells", np.ascontiguousarray(np.concatenate(coefficients, axis=1)))

    def lookup(self, a: FloatArray, u: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(log g~, log S~) at shape ``a`` and scaled delay ``u`` (arrays of one shape)."""
        la = np.log(np.maximum(a, 1e-12))
        np.minimum(np.maximum(la, self.log_a[0], out=la), self.log_a[-1], out=la)
        w = _arcsinh(u * (1.0 / _U_SCALE))
        np.minimum(np.maximum(w, self.w[0], out=w), self.w[-1], out=w)
        fa = (la - self.log_a[0]) * (1.0 / (self.log_a[1] - self.log_a[0]))
        fw = (w - self.w[0]) * (1.0 / (self.w[1] - self.w[0]))
        ia = np.minimum(fa.astype(np.int64), self.log_a.size - 2)
        iw = np.minimum(fw.astype(np.int64), self.w.size - 2)
        ta = fa - ia
        tw = fw - iw
        cell = ia * (self.w.size - 1) + iw
        c = np.take(self.cells, cell, axis=0)  # (..., 8): one gather for both tables ([] is 6x slower)
        tatw = ta * tw
        log_pdf = c[..., 0] + ta * c[..., 1] + tw * c[..., 2] + tatw * c[..., 3]
        log_surv = c[..., 4] + ta * c[..., 5] + tw * c[..., 6] + tatw * c[..., 7]
        return log_pdf, log_surv


def _arcsinh(x: FloatArray) -> FloatArray:
    """asinh(x) = sign(x) ln(|x| + sqrt(x^2 + 1)), to 1e-15: numpy's arcsinh is 1.6x slower here."""
    ax = np.abs(x)
    out: FloatArray = np.log(ax + np.sqrt(ax * ax + 1.0))
    np.copysign(out, x, out=out)
    return out


def _bilinear(table: FloatArray) -> FloatArray:
    """Per cell (i, j) of ``table``, (v00, v10 - v00, v01 - v00, v11 - v10 - v01 + v00): v at fractions
    (ta, tw) is c0 + ta c1 + tw c2 + ta tw c3. Rows: i * (columns - 1) + j."""
    v00 = table[:-1, :-1]
    v01 = table[:-1, 1:]
    v10 = table[1:, :-1]
    v11 = table[1:, 1:]
    out: FloatArray = np.stack([v00, v10 - v00, v01 - v00, v11 - v10 - v01 + v00], axis=-1).reshape(-1, 4)
    return out


@lru_cache(maxsize=4)
def pandel_tables(jitter_ns: float) -> PandelTables:
    """The tables for a jitter (ns), cached per process (~0.1 s to build).

    Below u = 16 sigma the values come from a numerical convolution on a fine grid (cells of sigma/8,
    the Gamma CDF's exact cell masses, so a < 1's integrable peak at 0 is handled); above, where the
    jitter no longer matters, from the exact Gamma PDF and survival function.
    """
    sigma = B_REF_PER_NS * jitter_ns
    log_a = np.linspace(np.log(_A_MIN), np.log(_A_MAX), _N_A)
    a = np.exp(log_a)[:, None]
    w = np.linspace(np.arcsinh(-12.0 * sigma / _U_SCALE), np.arcsinh(_U_MAX / _U_SCALE), _N_W)
    u = _U_SCALE * np.sinh(w)[None, :]
    # exact values (valid where the jitter is negligible)
    u_pos = np.maximum(u, 1e-300)
    log_pdf = (a - 1.0) * np.log(u_pos) - u - special.gammaln(a)
    log_surv = np.log(np.maximum(special.gammaincc(a, u_pos), 1e-300))
    # convolved values near 0
    h = sigma / 8.0
    switch = 16.0 * sigma
    edges = np.arange(-12.0 * sigma, switch + 12.0 * sigma + h, h)
    mids = 0.5 * (edges[1:] + edges[:-1])
    k = np.arange(-80, 81) * h
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    kernel /= kernel.sum()
    near = u[0] < switch
    for i in range(_N_A):
        cdf = special.gammainc(a[i, 0], np.maximum(edges, 0.0))
        pdf_conv = np.convolve(np.diff(cdf), kernel, mode="same") / h
        surv_conv = 1.0 - np.convolve(0.5 * (cdf[:-1] + cdf[1:]), kernel, mode="same")
        log_pdf[i, near] = np.interp(u[0, near], mids, np.log(np.maximum(pdf_conv, 1e-300)))
        log_surv[i, near] = np.interp(u[0, near], mids, np.log(np.maximum(surv_conv, 1e-300)))
    np.maximum(log_pdf, _LOG_FLOOR, out=log_pdf)
    np.clip(log_surv, _LOG_FLOOR, 0.0, out=log_surv)
    return PandelTables(sigma, log_a, w, log_pdf, log_surv)
