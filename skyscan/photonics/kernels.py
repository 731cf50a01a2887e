"""The photon-propagation kernel, compiled by numba (the only jitted code of skyscan.photonics).

:func:`propagate_track_light` follows photons of a muon track's light through the layered ice and adds
their absorption-weighted path length, times the DOM's angular acceptance, into a histogram of the
position relative to the track (perpendicular distance rho, the direct-light arrival angle cos eta)
and of the arrival-time residual. The physics and the estimator are described in
:mod:`skyscan.photonics.montecarlo`; callers go through its typed wrapper.

Each batch of photons has its own random stream (splitmix64 seeded from the seed, the batch and the
source), so results do not depend on how numba's threads share the batches: a run is reproducible for a
seed whatever the thread count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])

FloatArray = npt.NDArray[np.float64]
UIntArray = npt.NDArray[np.uint64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0

C_VACUUM = 0.299792458  # m/ns

#: emission modes
MODE_BARE_MUON = 0
MODE_CASCADE = 1
#: tally columns
TALLY_ABSORBED = 0
TALLY_ESCAPED = 1
TALLY_ROULETTE_KILLED = 2
TALLY_ROULETTE_ADDED = 3
TALLY_PATH = 4
N_TALLIES = 5

#: angular profile of a cascade's emitting steps (Raedel & Wiebusch 2013): 1 - cos = (-ln(1 - u) / b)^(1/a)
_CASCADE_A = 0.39
_CASCADE_B = 2.61
#: Russian roulette below this weight: survive with probability 0.1 at 10x the weight
_ROULETTE_WEIGHT = 1e-3
_MAX_STEPS = 200_000
#: the longest straight flight between two stop checks (m)
_MAX_SEGMENT = 25.0


def _jit(parallel: bool = False) -> Callable[[F], F]:
    """numba.njit that keeps the function's type for mypy (numba ignores the annotations)."""
    return cast(Callable[[F], F], numba.njit(cache=True, parallel=parallel, fastmath=False, nogil=True))


@_jit()
def uniform(state: UIntArray) -> float:
    """A uniform number in (0, 1) from the splitmix64 stream in ``state[0]``."""
    s = state[0] + _GOLDEN
    state[0] = s
    z = (s ^ (s >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return (float(z >> _S11) + 0.5) * _TWO_M53


@_jit()
def seed_state(seed: int, batch: int, source: int) -> UIntArray:
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed) * np.uint64(1000003) + np.uint64(batch) * np.uint64(7919) + np.uint64(source)
    for _ in range(4):
        uniform(state)
    return state


@_jit()
def rotate(vx: float, vy: float, vz: float, cos_t: float, phi: float) -> tuple[float, float, float]:
    """The unit vector at angle acos(cos_t), azimuth phi, around the unit vector (vx, vy, vz)."""
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    cp = math.cos(phi)
    sp = math.sin(phi)
    if abs(vz) > 0.99999:
        sign = 1.0 if vz > 0.0 else -1.0
        return sin_t * cp, sin_t * sp, cos_t * sign
    d = math.sqrt(1.0 - vz * vz)
    nx = sin_t * (vx * vz * cp - vy * sp) / d + vx * cos_t
    ny = sin_t * (vy * vz * cp + vx * sp) / d + vy * cos_t
    nz = -sin_t * cp * d + vz * cos_t
    norm = math.sqrt(nx * nx + ny * ny + nz * nz)
    return nx / norm, ny / norm, nz / norm


@_jit()
def scatter_cos(state: UIntArray, g: float, f_sl: float) -> float:
    """cos of a scattering angle from f_sl x simplified Liu + (1 - f_sl) x Henyey-Greenstein, both <cos> g."""
    u = uniform(state)
    if uniform(state) < f_sl:
        alpha = 2.0 * g / (1.0 - g)
        return float(2.0 * u ** (1.0 / (alpha + 1.0)) - 1.0)
    s = (1.0 - g * g) / (1.0 - g + 2.0 * g * u)
    return max(-1.0, min(1.0, (1.0 + g * g - s * s) / (2.0 * g)))


@_jit()
def acceptance(x: float, coefficients: FloatArray) -> float:
    """The DOM's angular acceptance polynomial at x = cos eta, clipped at 0."""
    x = max(-1.0, min(1.0, x))
    value = 0.0
    for k in range(coefficients.size - 1, -1, -1):
        value = value * x + coefficients[k]
    return max(value, 0.0)


@_jit()
def phase_index(lam_nm: float) -> float:
    x = lam_nm / 1000.0
    return 1.55749 - 1.57988 * x + 3.99993 * x * x - 4.68271 * x**3 + 2.09354 * x**4


@_jit()
def group_index(lam_nm: float) -> float:
    x = lam_nm / 1000.0
    return phase_index(lam_nm) * (1.227106 - 0.954648 * x + 1.42568 * x * x - 0.711832 * x**3)


@_jit()
def draw_wavelength(state: UIntArray, grid: FloatArray, cdf: FloatArray) -> float:
    u = uniform(state)
    i = max(1, min(int(np.searchsorted(cdf, u)), cdf.size - 1))
    f = (u - cdf[i - 1]) / max(cdf[i] - cdf[i - 1], 1e-300)
    return float(grid[i - 1] + f * (grid[i] - grid[i - 1]))


@_jit(parallel=True)
def propagate_track_light(
    n_photons: int,
    seed: int,
    source: int,
    mode: int,
    lam_grid: FloatArray,
    lam_cdf: FloatArray,
    inner_edges: FloatArray,
    scattering_e400: FloatArray,
    absorption400: FloatArray,
    source_depth: float,
    g: float,
    f_sl: float,
    acceptance_coefficients: FloatArray,
    cos_c_ref: float,
    n_group_ref: float,
    rho_max: float,
    t_scale: float,
    w_lo: float,
    w_hi: float,
    rho_stop: float,
    record_step: float,
    hist: FloatArray,
    tally: FloatArray,
) -> None:
    """Propagate ``n_photons`` photons (split over ``hist.shape[0]`` batches) and fill ``hist``, ``tally``.

    ``hist[batch, i_rho, i_cos, i_t]`` gains weight x path length x acceptance; rho bins have edges
    rho_max (i / n_rho)^2, cos eta bins are uniform in [-1, 1], time bins uniform in
    w = asinh(t_res / t_scale) over [w_lo, w_hi). A photon stops when its residual passes the last time
    bin, when it is farther than ``rho_stop`` from the track, or by Russian roulette.
    """
    n_batches, n_rho, n_cos, n_t = hist.shape
    n_layers = scattering_e400.size
    sin_c_ref = math.sqrt(1.0 - cos_c_ref * cos_c_ref)
    cot_c_ref = cos_c_ref / sin_c_ref
    t_hi = t_scale * math.sinh(w_hi)
    inv_dw = n_t / (w_hi - w_lo)
    ice_own_400 = 6954.0 * math.exp(-6618.0 / 400.0)
    for batch in numba.prange(n_batches):
        state = seed_state(seed, batch, source)
        first = (n_photons * batch) // n_batches
        last = (n_photons * (batch + 1)) // n_batches
        for _ in range(first, last):
            lam = draw_wavelength(state, lam_grid, lam_cdf)
            n_p = phase_index(lam)
            n_g = group_index(lam)
            b_scale = (lam / 400.0) ** -0.898 / (1.0 - g)
            a_scale = (lam / 400.0) ** -1.084
            a_ice = 6954.0 * math.exp(-6618.0 / lam)
            # the track: isotropic direction through the origin; the photon starts on it at t = 0
            uz = 2.0 * uniform(state) - 1.0
            phi = 2.0 * math.pi * uniform(state)
            us = math.sqrt(max(0.0, 1.0 - uz * uz))
            ux = us * math.cos(phi)
            uy = us * math.sin(phi)
            ex, ey, ez = ux, uy, uz
            if mode == MODE_CASCADE:
                one_minus = 3.0
                while one_minus > 2.0:
                    one_minus = (-math.log(1.0 - uniform(state)) / _CASCADE_B) ** (1.0 / _CASCADE_A)
                ex, ey, ez = rotate(ux, uy, uz, 1.0 - one_minus, 2.0 * math.pi * uniform(state))
            vx, vy, vz = rotate(ex, ey, ez, 1.0 / n_p, 2.0 * math.pi * uniform(state))
            px = 0.0
            py = 0.0
            pz = 0.0
            t = 0.0
            w = 1.0
            depth = source_depth
            layer = int(np.searchsorted(inner_edges, depth, side="right"))
            alive = True
            steps = 0
            while alive and steps < _MAX_STEPS:
                steps += 1
                tau = -math.log(uniform(state))
                acc = acceptance(vz, acceptance_coefficients)
                while tau > 0.0 and alive:
                    b = scattering_e400[layer] * b_scale
                    a = max(absorption400[layer] - ice_own_400, 1e-6) * a_scale + a_ice
                    seg = tau / b
                    crossing = False
                    partial = False
                    if seg > _MAX_SEGMENT:  # long flights stop on the way: the stop checks see them
                        seg = _MAX_SEGMENT
                        partial = True
                    if vz > 1e-12 and layer > 0:
                        to_edge = (depth - inner_edges[layer - 1]) / vz
                        if to_edge < seg:
                            seg = max(to_edge, 0.0)
                            crossing = True
                            partial = False
                    elif vz < -1e-12 and layer < n_layers - 1:
                        to_edge = (inner_edges[layer] - depth) / (-vz)
                        if to_edge < seg:
                            seg = max(to_edge, 0.0)
                            crossing = True
                            partial = False
                    # record the segment: points every <= record_step, each carrying its share
                    n_pts = int(seg / record_step) + 1
                    dl = seg / n_pts
                    if acc > 0.0:
                        for k in range(n_pts):
                            d = (k + uniform(state)) * dl
                            qx = px + vx * d
                            qy = py + vy * d
                            qz = pz + vz * d
                            along = qx * ux + qy * uy + qz * uz
                            rx = qx - along * ux
                            ry = qy - along * uy
                            rz = qz - along * uz
                            rho = math.sqrt(rx * rx + ry * ry + rz * rz)
                            if rho >= rho_max:
                                continue
                            t_dir = (along - rho * cot_c_ref + rho * n_group_ref / sin_c_ref) / C_VACUUM
                            t_res = t + d * n_g / C_VACUUM - t_dir
                            wt = math.asinh(t_res / t_scale)
                            if wt < w_lo or wt >= w_hi:
                                continue
                            i_t = min(int((wt - w_lo) * inv_dw), n_t - 1)
                            i_rho = min(int(n_rho * math.sqrt(rho / rho_max)), n_rho - 1)
                            c = cos_c_ref * uz + (sin_c_ref * rz / rho if rho > 0.0 else 0.0)
                            i_cos = min(max(int((c + 1.0) * 0.5 * n_cos), 0), n_cos - 1)
                            hist[batch, i_rho, i_cos, i_t] += w * math.exp(-a * d) * dl * acc
                    # move
                    survive = math.exp(-a * seg)
                    tally[batch, TALLY_PATH] += w * (1.0 - survive) / a
                    tally[batch, TALLY_ABSORBED] += w * (1.0 - survive)
                    w *= survive
                    px += vx * seg
                    py += vy * seg
                    pz += vz * seg
                    t += seg * n_g / C_VACUUM
                    depth = source_depth - pz
                    if crossing:
                        tau -= seg * b
                        layer += -1 if vz > 0.0 else 1
                    elif partial:
                        tau -= seg * b
                    else:
                        tau = 0.0
                    # stop?
                    along = px * ux + py * uy + pz * uz
                    rx = px - along * ux
                    ry = py - along * uy
                    rz = pz - along * uz
                    rho = math.sqrt(rx * rx + ry * ry + rz * rz)
                    t_dir = (along - rho * cot_c_ref + rho * n_group_ref / sin_c_ref) / C_VACUUM
                    if rho > rho_stop or t - t_dir > t_hi:
                        tally[batch, TALLY_ESCAPED] += w
                        alive = False
                    elif w < _ROULETTE_WEIGHT:
                        if uniform(state) < 0.1:
                            tally[batch, TALLY_ROULETTE_ADDED] += 9.0 * w
                            w *= 10.0
                        else:
                            tally[batch, TALLY_ROULETTE_KILLED] += w
                            alive = False
                if alive:
                    vx, vy, vz = rotate(
                        vx, vy, vz, scatter_cos(state, g, f_sl), 2.0 * math.pi * uniform(state)
                    )
            if alive:
                tally[batch, TALLY_ESCAPED] += w


@_jit(parallel=True)
def sphere_hits(
    n_photons: int,
    seed: int,
    lam_grid: FloatArray,
    lam_cdf: FloatArray,
    scattering_e400: float,
    absorption400: float,
    g: float,
    f_sl: float,
    acceptance_coefficients: FloatArray,
    cos_c_ref: float,
    rhos: FloatArray,
    spacing: float,
    radius: float,
    rho_stop: float,
    hits: FloatArray,
) -> None:
    """Direct detection by DOM spheres, in homogeneous ice: the check of the tables' volume estimator.

    Each photon starts on a track of isotropic direction u (bare muon light, as
    :func:`propagate_track_light`). For each distance ``rhos[j]`` a line of spheres of ``radius`` runs
    parallel to the track, ``spacing`` apart, at an azimuth around the track drawn per photon: a photon
    whose straight flight meets a sphere is detected there (weight x exp(-a l) x the acceptance of its
    direction) and ends. ``hits[batch, j, i_cos]`` sums the detected weights by the direct-light cos eta
    of line j, and ``hits[batch, j, n_cos + i_cos]`` counts the photons whose line j fell in that bin.
    """
    n_batches = hits.shape[0]
    n_lines = rhos.size
    n_cos = hits.shape[2] // 2
    sin_c_ref = math.sqrt(1.0 - cos_c_ref * cos_c_ref)
    ice_own_400 = 6954.0 * math.exp(-6618.0 / 400.0)
    for batch in numba.prange(n_batches):
        state = seed_state(seed, batch, 77)
        first = (n_photons * batch) // n_batches
        last = (n_photons * (batch + 1)) // n_batches
        ox = np.empty(n_lines)
        oy = np.empty(n_lines)
        oz = np.empty(n_lines)
        bins = np.empty(n_lines, dtype=np.int64)
        for _ in range(first, last):
            lam = draw_wavelength(state, lam_grid, lam_cdf)
            n_p = phase_index(lam)
            b = scattering_e400 * (lam / 400.0) ** -0.898 / (1.0 - g)
            a = max(absorption400 - ice_own_400, 1e-6) * (lam / 400.0) ** -1.084 + 6954.0 * math.exp(
                -6618.0 / lam
            )
            uz = 2.0 * uniform(state) - 1.0
            phi = 2.0 * math.pi * uniform(state)
            us = math.sqrt(max(0.0, 1.0 - uz * uz))
            ux = us * math.cos(phi)
            uy = us * math.sin(phi)
            for j in range(n_lines):
                # a unit vector perpendicular to u at a random azimuth: the line's offset direction
                px_, py_, pz_ = rotate(ux, uy, uz, 0.0, 2.0 * math.pi * uniform(state))
                ox[j] = rhos[j] * px_
                oy[j] = rhos[j] * py_
                oz[j] = rhos[j] * pz_
                c = cos_c_ref * uz + sin_c_ref * pz_
                bins[j] = min(max(int((c + 1.0) * 0.5 * n_cos), 0), n_cos - 1)
                hits[batch, j, n_cos + bins[j]] += 1.0
            vx, vy, vz = rotate(ux, uy, uz, 1.0 / n_p, 2.0 * math.pi * uniform(state))
            px = 0.0
            py = 0.0
            pz = 0.0
            w = 1.0
            for _step in range(_MAX_STEPS):
                seg = -math.log(uniform(state)) / b
                capped = seg > _MAX_SEGMENT  # go on without scattering (the flight length is memoryless)
                if capped:
                    seg = _MAX_SEGMENT
                # the nearest sphere this flight meets, over all lines
                best = seg
                best_j = -1
                a0 = px * ux + py * uy + pz * uz
                a1 = a0 + seg * (vx * ux + vy * uy + vz * uz)
                lo = min(a0, a1) - radius
                hi = max(a0, a1) + radius
                for j in range(n_lines):
                    for k in range(math.floor(lo / spacing), math.ceil(hi / spacing) + 1):
                        cx = ox[j] + k * spacing * ux
                        cy = oy[j] + k * spacing * uy
                        cz = oz[j] + k * spacing * uz
                        mx = px - cx
                        my = py - cy
                        mz = pz - cz
                        bb = mx * vx + my * vy + mz * vz
                        cc = mx * mx + my * my + mz * mz - radius * radius
                        if cc <= 0.0 or bb > 0.0:
                            continue
                        disc = bb * bb - cc
                        if disc < 0.0:
                            continue
                        d_hit = -bb - math.sqrt(disc)
                        if d_hit < best:
                            best = d_hit
                            best_j = j
                if best_j >= 0:
                    weight = w * math.exp(-a * best) * acceptance(vz, acceptance_coefficients)
                    hits[batch, best_j, bins[best_j]] += weight
                    break
                w *= math.exp(-a * seg)
                px += vx * seg
                py += vy * seg
                pz += vz * seg
                along = px * ux + py * uy + pz * uz
                rx = px - along * ux
                ry = py - along * uy
                rz = pz - along * uz
                if rx * rx + ry * ry + rz * rz > rho_stop * rho_stop:
                    break
                if w < _ROULETTE_WEIGHT:
                    if uniform(state) < 0.1:
                        w *= 10.0
                    else:
                        break
                if not capped:
                    vx, vy, vz = rotate(
                        vx, vy, vz, scatter_cos(state, g, f_sl), 2.0 * math.pi * uniform(state)
                    )
