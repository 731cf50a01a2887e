"""The per-pixel track likelihood of ``table_mpe``: photon tables, MPE (or SPE) timing and Poisson charge.

For an infinite muon track of direction u (where the muon goes) through r0 = c + alpha e1 + beta e2
(c the charge centre of the pulses, e1, e2 perpendicular to u) passing r0 at t0, every DOM is placed
relative to the track as :func:`skyscan.photonics.tables.track_geometry` does (distance rho, the
direct light's arrival angle eta, the depth of its emission point, the direct time), and:

- charge: the DOM's expected photoelectrons are ``rde x (bare x s(E) + loss x b E) + noise_pe``
  (:class:`~skyscan.photonics.tables.PhotonTables`: the bare muon's light and that of its mean
  radiative losses, b = 3.3e-4 /m), softly capped at ``saturation_pe`` (mu / (1 + mu / cap)), the
  observed charge capped at the same value; every hit DOM, and every unhit DOM within
  ``charge_radius_m`` of the track (DeepCore left out, as the cleaning does), adds the Poisson
  -ln P(n | mu) (up to the constant ln n!): a hit DOM far from the track must be noise. The muon
  energy E is profiled per vertex: Newton steps in E (at most 8, from the energy whose total
  expectation equals the total charge; within 100 GeV - 100 PeV);
- timing: the first pulse's residual (t_obs - t0 - t_direct) follows the tables' arrival-time PDF f
  (the mix of muon and loss light at the profiled E) convolved with a Gaussian PMT jitter
  (``jitter_ns``, 4 ns by default: the PMT's transit-time spread of about 2 ns and the calibration's
  spread together, as pandel_mpe's), with CDF F; MPE: p = N f (1 - F)^(N-1) with N the DOM's
  observed charge rounded (at least 1; as IceCube's MPE uses the observed charge), SPE: p = f; a
  noise floor ``noise_per_ns`` is added to p so that one mistimed DOM cannot dominate.

Model-error terms (options, all off by default): ``mpe_n_max`` caps the MPE's N (min(N, n_max): the
first-photon density of a bright DOM is then not pinned to the jitter); ``smear_ns_per_100m`` widens
the timing with distance, approximately: the jittered PDF and CDF are read at t / s, the density
divided by s, with s = sqrt(1 + (k rho)^2 / jitter^2) (at most 10; this stretches the whole residual
distribution, its scattering tail too, not only its Gaussian core); ``charge_model_error`` f replaces
the Poisson charge term by a negative binomial of the same mean and variance mu + (f mu)^2 (a per-DOM
fractional model uncertainty: -ln P = (n + 1/f^2) ln(1 + f^2 mu) - n ln mu, up to constants; the
energy's Newton steps weighted by 1 / (1 + f^2 mu) accordingly).

-ln L = sum over hit DOMs of -ln(p + floor) + ``charge_weight`` x the charge term. The evaluation of
many vertices over all DOMs runs in one numba kernel; the jitter convolution is done once per process
on the tables' grid (:func:`jittered_tables`).

What it leaves out (the tables' own list is in their provenance): the muon is infinite and its losses
are smooth (a dominant single loss, as two real events show, is light the charge term cannot explain
except by a brighter muon), DOM saturation is a soft cap rather than the PMT's response, and the time
PDF is that of the first pulse only (later pulses of a DOM are not used).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter1d

from skybase.i3.geometry import DEPTH_OF_ORIGIN_M
from skyscan.photonics import optics
from skyscan.photonics.tables import RADIATIVE_LOSS_PER_M, PhotonTables

FloatArray = npt.NDArray[np.float64]
F = TypeVar("F", bound=Callable[..., Any])

_COS_C = 1.0 / optics.N_PHASE_REF
_SIN_C = math.sqrt(1.0 - _COS_C**2)
_COT_C = _COS_C / _SIN_C
_GROUP_OVER_SIN = optics.N_GROUP_REF / _SIN_C
_INV_C = 1.0 / optics.C_VACUUM_M_PER_NS
#: the profiled muon energy's range (GeV), searched in ln E
LOG_E_RANGE = (math.log(1e2), math.log(1e8))
_NEWTON_STEPS = 8
#: the residual grid (ns) on which the jitter is convolved: fine where it matters, beyond it unchanged
_FINE_STEP_NS = 0.25
_FINE_MAX_NS = 600.0


def _jit(function: F) -> F:
    """numba.njit that keeps the function's type for mypy (numba ignores the annotations)."""
    return cast(F, numba.njit(cache=True, fastmath=False, nogil=True)(function))


@dataclass(frozen=True)
class JitteredTables:
    """The tables' grids and their time PDFs convolved with a Gaussian jitter, as the kernel reads them."""

    depths_m: FloatArray
    cos_eta: FloatArray
    sqrt_rho: FloatArray
    w_grid: FloatArray
    t_scale_ns: float
    rho_max_m: float
    log_rho_pe: FloatArray  # (2, D, C, R)
    p_w: FloatArray  # (2, D, C, R, T): density per unit w, jittered
    cdf: FloatArray  # (2, D, C, R, T), jittered
    jitter_ns: float


def _gaussian_weights(sigma_bins: float) -> FloatArray:
    """The weights of ``gaussian_filter1d(..., sigma_bins, truncate=6.0)``, read exactly from its response
    to a unit impulse."""
    radius = int(6.0 * sigma_bins + 0.5)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    return np.asarray(gaussian_filter1d(impulse, sigma_bins, mode="constant", truncate=6.0), dtype=np.float64)


def _filtered_at(
    values: FloatArray, weights: FloatArray, mode: str, positions: npt.NDArray[np.int64]
) -> FloatArray:
    """``gaussian_filter1d`` of ``values`` along its last axis read only at ``positions`` (``mode``
    "constant": zeros beyond the ends, "edge": the end values), with scipy's symmetric-kernel sum in
    its order, so bit for bit the same numbers at a fraction of the cost."""
    radius = weights.size // 2
    padded = np.pad(values, [(0, 0)] * (values.ndim - 1) + [(radius, radius)], mode=mode)  # type: ignore[call-overload]
    centre = positions + radius
    out: FloatArray = padded[..., centre] * weights[radius]
    for k in range(radius, 0, -1):
        out += (padded[..., centre - k] + padded[..., centre + k]) * weights[radius - k]
    return out


def _convolved(tables: PhotonTables, jitter_ns: float) -> tuple[FloatArray, FloatArray]:
    """The per-w density and CDF of every (component, depth, angle, distance) cell after convolving
    the per-ns PDF with a Gaussian of ``jitter_ns``: sampled every 0.25 ns up to 600 ns (linear in w
    between the table's nodes, as its evaluators interpolate), filtered, read back at the nodes."""
    w = tables.w_grid
    t_nodes = tables.t_scale_ns * np.sinh(w)
    fine = np.arange(t_nodes[0] - 6 * jitter_ns, _FINE_MAX_NS + 6 * jitter_ns, _FINE_STEP_NS)
    w_fine = np.arcsinh(fine / tables.t_scale_ns)
    inside = (w_fine >= w[0]) & (w_fine <= w[-1])
    idx = np.clip(np.searchsorted(w, w_fine, side="right") - 1, 0, w.size - 2)
    frac = np.clip((w_fine - w[idx]) / (w[idx + 1] - w[idx]), 0.0, 1.0)
    per_ns_factor = np.where(inside, 1.0 / (tables.t_scale_ns * np.cosh(w_fine)), 0.0)
    p_w = tables.p_w.copy()
    cdf = tables.cdf.copy()
    near = t_nodes <= _FINE_MAX_NS
    # read-back positions of the nodes on the fine grid
    pos = (t_nodes[near] - fine[0]) / _FINE_STEP_NS
    lo = np.clip(np.floor(pos).astype(np.int64), 0, fine.size - 2)
    pf = pos - lo
    weights = _gaussian_weights(jitter_ns / _FINE_STEP_NS)
    # the filtered lines are read only at the nodes' two neighbours (lo, then lo + 1)
    at = np.concatenate([lo, lo + 1])
    n = lo.size
    for comp in range(p_w.shape[0]):
        for d in range(p_w.shape[1]):
            dens = tables.p_w[comp, d]  # (C, R, T)
            on_fine = ((1.0 - frac) * dens[..., idx] + frac * dens[..., idx + 1]) * per_ns_factor
            smooth = _filtered_at(on_fine, weights, "constant", at)
            c_fine = (1.0 - frac) * tables.cdf[comp, d][..., idx] + frac * tables.cdf[comp, d][..., idx + 1]
            c_fine = np.where(w_fine < w[0], 0.0, c_fine)
            c_smooth = _filtered_at(c_fine, weights, "edge", at)
            pdf_nodes = (1.0 - pf) * smooth[..., :n] + pf * smooth[..., n:]
            p_w[comp, d][..., near] = pdf_nodes * (tables.t_scale_ns * np.cosh(w[near]))
            cdf[comp, d][..., near] = (1.0 - pf) * c_smooth[..., :n] + pf * c_smooth[..., n:]
    return p_w, np.clip(cdf, 0.0, 1.0)


@lru_cache(maxsize=4)
def jittered_tables(jitter_ns: float) -> JitteredTables:
    """The packaged tables with their time PDFs convolved with a Gaussian jitter (once per process)."""
    tables = PhotonTables.load()
    p_w, cdf = _convolved(tables, jitter_ns)
    return JitteredTables(
        tables.depths_m,
        tables.cos_eta,
        np.sqrt(tables.rho_m),
        tables.w_grid,
        tables.t_scale_ns,
        tables.rho_max_m,
        np.ascontiguousarray(tables.log_rho_pe),
        np.ascontiguousarray(p_w),
        np.ascontiguousarray(cdf),
        jitter_ns,
    )


@dataclass(frozen=True)
class LikelihoodSettings:
    """The likelihood's switches and constants (the reco's options)."""

    mpe: bool = True
    jitter_ns: float = 4.0
    noise_per_ns: float = 1e-6
    noise_pe: float = 0.01
    saturation_pe: float = 1000.0
    charge_radius_m: float = 250.0
    charge_weight: float = 1.0
    #: the MPE's N capped at this (0: the observed charge, uncapped)
    mpe_n_max: float = 0.0
    #: per-DOM fractional model error of the expected charge (0: Poisson; else negative binomial)
    charge_model_error: float = 0.0
    #: extra Gaussian time smearing (ns) per 100 m of distance, added in quadrature to the jitter
    smear_ns_per_100m: float = 0.0


@_jit
def _locate(grid: FloatArray, value: float) -> tuple[int, float]:
    n = grid.size
    if n == 1:
        return 0, 0.0
    v = min(max(value, grid[0]), grid[n - 1])
    i = np.searchsorted(grid, v, side="right") - 1
    i = min(max(i, 0), n - 2)
    return i, (v - grid[i]) / (grid[i + 1] - grid[i])


@_jit
def _secondaries(energy: float) -> float:
    return 1.0 + max(0.0, 0.188 + 0.0206 * math.log(max(energy, 1e-3)))


@_jit
def _charge_nll(
    log_e: float,
    bare: FloatArray,
    loss: FloatArray,
    rde: FloatArray,
    n_obs: FloatArray,
    count: int,
    noise_pe: float,
    cap: float,
    inv_r: float,
) -> float:
    e = math.exp(log_e)
    s = _secondaries(e)
    be = RADIATIVE_LOSS_PER_M * e
    total = 0.0
    for m in range(count):
        mu = rde[m] * (bare[m] * s + loss[m] * be) + noise_pe
        mu = mu / (1.0 + mu / cap)
        n = min(n_obs[m], cap)
        if inv_r > 0.0:  # negative binomial, variance mu + (f mu)^2, r = 1 / f^2; up to constants
            total += (n + 1.0 / inv_r) * math.log1p(mu * inv_r) - n * math.log(mu)
        else:
            total += mu - n * math.log(mu)
    return total


@_jit
def _profile_energy(
    bare: FloatArray,
    loss: FloatArray,
    rde: FloatArray,
    n_obs: FloatArray,
    count: int,
    noise_pe: float,
    cap: float,
    log_e_lo: float,
    log_e_hi: float,
    inv_r: float,
) -> float:
    """The muon energy (GeV) minimising the charge term: Newton (Gauss-Newton curvature) in E from the
    energy whose total expectation equals the total charge, each step kept within a factor 4."""
    e_lo, e_hi = math.exp(log_e_lo), math.exp(log_e_hi)
    sum_a = 0.0
    sum_c = 0.0
    sum_n = 0.0
    for m in range(count):
        sum_a += rde[m] * bare[m] * 1.3 + noise_pe
        sum_c += rde[m] * loss[m] * RADIATIVE_LOSS_PER_M
        sum_n += n_obs[m]
    e = (sum_n - sum_a) / sum_c if sum_c > 0.0 else e_lo
    e = min(max(e, e_lo), e_hi)
    for _ in range(_NEWTON_STEPS):
        s = _secondaries(e)
        ds = 0.0206 / e if 0.188 + 0.0206 * math.log(e) > 0.0 else 0.0
        be = RADIATIVE_LOSS_PER_M * e
        grad = 0.0
        curv = 0.0
        for m in range(count):
            mu = rde[m] * (bare[m] * s + loss[m] * be) + noise_pe
            shrink = 1.0 / (1.0 + mu / cap)
            mu_c = mu * shrink
            dmu = rde[m] * (bare[m] * ds + loss[m] * RADIATIVE_LOSS_PER_M) * shrink * shrink
            n = min(n_obs[m], cap)
            nb = 1.0 / (1.0 + mu_c * inv_r)  # the negative binomial's weight (1: Poisson)
            grad += (1.0 - n / mu_c) * dmu * nb
            curv += n * dmu * dmu / (mu_c * mu_c) * nb
        if curv <= 0.0:
            break
        new_e = min(max(e - grad / curv, 0.25 * e, e_lo), 4.0 * e, e_hi)
        if abs(new_e - e) < 1e-4 * e:
            e = new_e
            break
        e = new_e
    return e


@_jit
def _evaluate(
    points: FloatArray,  # (K, 3) vertices (detector coordinates)
    t0: FloatArray,  # (K,)
    u: FloatArray,  # (3,)
    xyz: FloatArray,  # (M, 3) every DOM of the charge term; the hit ones first
    rde: FloatArray,  # (M,)
    n_obs: FloatArray,  # (M,) observed charge, 0 for unhit
    n_hit: int,
    t_first: FloatArray,  # (n_hit,)
    npe: FloatArray,  # (n_hit,) N of the MPE (observed charge rounded, >= 1)
    depths: FloatArray,
    cos_grid: FloatArray,
    sqrt_rho_grid: FloatArray,
    w_grid: FloatArray,
    t_scale: float,
    rho_max: float,
    log_rho_pe: FloatArray,
    p_w: FloatArray,
    cdf: FloatArray,
    depth0: float,
    mpe: bool,
    noise_per_ns: float,
    noise_pe: float,
    cap: float,
    radius: float,
    charge_weight: float,
    log_e_lo: float,
    log_e_hi: float,
    inv_r: float,  # charge_model_error^2 (0: Poisson)
    smear2: float,  # (smear_ns_per_100m / 100 m)^2, ns^2/m^2 (0: jitter only)
    jitter_ns: float,  # the tables' jitter (ns), for the extra smearing's variance
    out_energy: FloatArray,  # (K,) the profiled energy, GeV
) -> FloatArray:
    k_count = points.shape[0]
    m_count = xyz.shape[0]
    n_t = w_grid.size
    n_d = depths.size
    result = np.empty(k_count)
    bare = np.empty(m_count)
    loss = np.empty(m_count)
    c_rde = np.empty(m_count)
    c_n = np.empty(m_count)
    # per hit DOM: residual and its eight (depth, angle, distance) corners
    resid = np.empty(n_hit)
    corner_idx = np.empty((n_hit, 8, 3), dtype=np.int64)
    corner_w = np.empty((n_hit, 8))
    hit_bare = np.empty(n_hit)
    hit_loss = np.empty(n_hit)
    hit_rho = np.empty(n_hit)
    t_min = t_scale * math.sinh(w_grid[0])
    t_max = t_scale * math.sinh(w_grid[n_t - 1])
    for k in range(k_count):
        px, py, pz = points[k, 0], points[k, 1], points[k, 2]
        count = 0
        for m in range(m_count):
            rx, ry, rz = xyz[m, 0] - px, xyz[m, 1] - py, xyz[m, 2] - pz
            along = rx * u[0] + ry * u[1] + rz * u[2]
            qx, qy, qz = rx - along * u[0], ry - along * u[1], rz - along * u[2]
            rho = math.sqrt(qx * qx + qy * qy + qz * qz)
            is_hit = m < n_hit
            if not is_hit and rho > radius:
                continue
            v_z = _COS_C * u[2] + _SIN_C * qz / max(rho, 1e-9)
            emission_s = along - rho * _COT_C
            depth = depth0 - (pz + emission_s * u[2])
            i_d, f_d = _locate(depths, depth)
            i_c, f_c = _locate(cos_grid, min(max(v_z, -1.0), 1.0))
            i_r, f_r = _locate(sqrt_rho_grid, math.sqrt(max(rho, 0.1651)))
            lb = 0.0
            ll = 0.0
            j = 0
            for dd in range(2):
                wd = f_d if dd == 1 else 1.0 - f_d
                jd = min(i_d + dd, n_d - 1)
                for dc in range(2):
                    wc = f_c if dc == 1 else 1.0 - f_c
                    for dr in range(2):
                        wr = f_r if dr == 1 else 1.0 - f_r
                        w = wd * wc * wr
                        lb += w * log_rho_pe[0, jd, i_c + dc, i_r + dr]
                        ll += w * log_rho_pe[1, jd, i_c + dc, i_r + dr]
                        if is_hit:
                            corner_idx[m, j, 0] = jd
                            corner_idx[m, j, 1] = i_c + dc
                            corner_idx[m, j, 2] = i_r + dr
                            corner_w[m, j] = w
                        j += 1
            inv = 1.0 / max(rho, 0.1651)
            pe_b = 0.0 if rho > rho_max else math.exp(lb) * inv
            pe_l = 0.0 if rho > rho_max else math.exp(ll) * inv
            if is_hit:
                hit_bare[m] = pe_b
                hit_loss[m] = pe_l
                hit_rho[m] = rho
                t_direct = (emission_s + rho * _GROUP_OVER_SIN) * _INV_C
                resid[m] = t_first[m] - t0[k] - t_direct
            if is_hit or rho <= radius:
                bare[count] = pe_b
                loss[count] = pe_l
                c_rde[count] = rde[m]
                c_n[count] = n_obs[m]
                count += 1
        # profile the energy: Newton steps from the energy whose total expectation matches the charge
        energy = _profile_energy(bare, loss, c_rde, c_n, count, noise_pe, cap, log_e_lo, log_e_hi, inv_r)
        charge = _charge_nll(math.log(energy), bare, loss, c_rde, c_n, count, noise_pe, cap, inv_r)
        out_energy[k] = energy
        s = _secondaries(energy)
        be = RADIATIVE_LOSS_PER_M * energy
        timing = 0.0
        for m in range(n_hit):
            t = resid[m]
            stretch = 1.0
            if smear2 > 0.0:
                # extra Gaussian smearing growing with distance: approximated by stretching the
                # jittered PDF about t = 0 (width sqrt(jitter^2 + (k rho)^2) / jitter, at most 10)
                extra = smear2 * hit_rho[m] * hit_rho[m]
                stretch = min(math.sqrt(1.0 + extra / (jitter_ns * jitter_ns)), 10.0)
                t = t / stretch
            mu_b = hit_bare[m] * s
            mu_l = hit_loss[m] * be
            mix = mu_l / max(mu_b + mu_l, 1e-300) if mu_b + mu_l > 0 else 0.0
            if t < t_min:
                pdf = 0.0
                cum = 0.0
            elif t > t_max:
                pdf = 0.0
                cum = 1.0
            else:
                wt = math.asinh(t / t_scale)
                i_t, f_t = _locate(w_grid, wt)
                pb = 0.0
                pl = 0.0
                cb = 0.0
                cl = 0.0
                for j in range(8):
                    jd = corner_idx[m, j, 0]
                    jc = corner_idx[m, j, 1]
                    jr = corner_idx[m, j, 2]
                    w = corner_w[m, j]
                    pb += w * ((1.0 - f_t) * p_w[0, jd, jc, jr, i_t] + f_t * p_w[0, jd, jc, jr, i_t + 1])
                    pl += w * ((1.0 - f_t) * p_w[1, jd, jc, jr, i_t] + f_t * p_w[1, jd, jc, jr, i_t + 1])
                    cb += w * ((1.0 - f_t) * cdf[0, jd, jc, jr, i_t] + f_t * cdf[0, jd, jc, jr, i_t + 1])
                    cl += w * ((1.0 - f_t) * cdf[1, jd, jc, jr, i_t] + f_t * cdf[1, jd, jc, jr, i_t + 1])
                pdf = ((1.0 - mix) * pb + mix * pl) / (t_scale * math.cosh(wt)) / stretch
                cum = min(max((1.0 - mix) * cb + mix * cl, 0.0), 1.0)
            if mpe:
                n = npe[m]
                survive = 1.0 - cum
                p = n * pdf * (survive ** (n - 1.0) if survive > 0.0 else 0.0)
            else:
                p = pdf
            timing -= math.log(p + noise_per_ns)
        result[k] = timing + charge_weight * charge
    return result


@dataclass(frozen=True)
class ChargeDoms:
    """The DOMs the likelihood reads: the hit ones first (with their first time and charge), then the
    unhit ones the charge term may use."""

    xyz: FloatArray  # (M, 3)
    rde: FloatArray  # (M,)
    charge: FloatArray  # (M,), 0 for unhit
    t_first: FloatArray  # (n_hit,)
    n_hit: int

    @property
    def centre(self) -> FloatArray:
        q = self.charge[: self.n_hit]
        out: FloatArray = (self.xyz[: self.n_hit] * (q / q.sum())[:, None]).sum(axis=0)
        return out


class TableLikelihood:
    """-ln L of tracks of one direction for many vertices at once (the module docstring)."""

    def __init__(self, doms: ChargeDoms, settings: LikelihoodSettings) -> None:
        self.doms = doms
        self.settings = settings
        self.tables = jittered_tables(settings.jitter_ns)
        npe = np.maximum(np.round(doms.charge[: doms.n_hit]), 1.0)
        self.npe = np.minimum(npe, settings.mpe_n_max) if settings.mpe_n_max > 0 else npe
        self.centre = doms.centre

    def evaluate(self, points: FloatArray, t0: FloatArray, u: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(-ln L, profiled energy in GeV) of vertices ``points`` (K, 3) passed at ``t0`` (K,)."""
        tb = self.tables
        s = self.settings
        d = self.doms
        energy = np.empty(len(points))
        llh = _evaluate(
            np.ascontiguousarray(points, dtype=np.float64),
            np.ascontiguousarray(t0, dtype=np.float64),
            np.ascontiguousarray(u, dtype=np.float64),
            d.xyz,
            d.rde,
            d.charge,
            d.n_hit,
            d.t_first,
            self.npe,
            tb.depths_m,
            tb.cos_eta,
            tb.sqrt_rho,
            tb.w_grid,
            tb.t_scale_ns,
            tb.rho_max_m,
            tb.log_rho_pe,
            tb.p_w,
            tb.cdf,
            DEPTH_OF_ORIGIN_M,
            s.mpe,
            s.noise_per_ns,
            s.noise_pe,
            s.saturation_pe,
            s.charge_radius_m,
            s.charge_weight,
            LOG_E_RANGE[0],
            LOG_E_RANGE[1],
            s.charge_model_error**2,
            (s.smear_ns_per_100m / 100.0) ** 2,
            s.jitter_ns,
            energy,
        )
        return np.asarray(llh, dtype=np.float64), energy
