"""Direct photon tracking from the muon and its losses to the DOMs (numba; one event at a time).

Every light source (a stretch of the muon's track, or one stochastic loss) emits ``n`` tracked
photons; each stands for ``alpha`` m^2 of photoelectron effective area (the source's photons x the
DOM's wavelength-dependent effective area, drawn from :func:`skyscan.photonics.optics.dom_weighted_spectrum`,
divided by ``n``): photons are downsampled and weighted, not tracked one by one.

Emission (facts sheet section 1): track stretches emit at the Cherenkov angle acos(1 / n_p(lambda))
around the muon, uniformly along the stretch; cascades (and the track's sub-cut radiative losses)
emit from steps displaced along the axis by a Gamma(a = 2.018 + 0.632 ln E/GeV, scale 0.39 m / 0.632)
longitudinal profile and turned from it by 1 - cos = (-ln(1 - u) / 2.61)^(1 / 0.39), then at the
Cherenkov angle around the step (Raedel & Wiebusch 2013). A cascade's light leaves at the time the
muon passes its vertex plus the shower front's travel at c.

Propagation: scattering lengths drawn layer by layer in the layered ice (depth = 1948.07 m - z), the
mixed simplified-Liu / Henyey-Greenstein phase function, absorption carried as a weight
exp(-int a dl) with Russian roulette, time at the group velocity c / n_g(lambda). The physics helpers
are :mod:`skyscan.photonics.kernels`' (``uniform``/``seed_state`` random streams, ``rotate``,
``scatter_cos``, ``acceptance``, ``draw_wavelength``, ``phase_index``, ``group_index``): they are the
physics of photon emission and scattering, shared on purpose; nothing of the tables (their binning,
symmetry averaging or evaluation) is used.

Detection: each DOM is a sphere of radius ``collect_m`` (3 m by default, 18 x the glass sphere's
0.1651 m) used as a *volume estimator*, not an enlarged target: a photon whose path crosses it with
chord length l adds ``alpha x w x l x P(cos eta) / (4/3 pi R^3)`` expected photoelectrons, the
mean of what a real-sized DOM anywhere in that sphere would detect (a fluence is track length per
volume; an object of effective area A in it sees fluence x A), so the enlarged sphere costs no
normalisation correction, only a spatial average over 3 m. The time recorded is when the photon
passes the point of its path nearest the DOM's centre (the pancake correction of clsim, exact for a
straight chord). P is IceCube's angular acceptance of the photon's direction; the wavelength
efficiency is in alpha.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from skyscan.photonics.kernels import (
    acceptance,
    draw_wavelength,
    group_index,
    phase_index,
    rotate,
    scatter_cos,
    seed_state,
    uniform,
)

F = TypeVar("F", bound=Callable[..., Any])
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
UIntArray = npt.NDArray[np.uint64]

C_VACUUM = 0.299792458  # m/ns
DEPTH_OF_ORIGIN_M = 1948.07

KIND_TRACK = 0  # bare muon Cherenkov light along a stretch
KIND_TRACK_CASCADE = 1  # sub-cut radiative losses along a stretch: cascade light, spread along it
KIND_CASCADE = 2  # one stochastic loss at a point

_CASCADE_A = 0.39
_CASCADE_B = 2.61
_RADIATION_LENGTH_M = 0.39
_ROULETTE_WEIGHT = 0.05
_MAX_SEGMENT = 20.0
_MAX_STEPS = 100_000
#: the ice's own (temperature) absorption at 400 nm, in the table's a(400): the rest is dust
_ICE_OWN_400 = 6954.0 * math.exp(-6618.0 / 400.0)

#: the kernel's argument bundles (numba takes tuples of arrays)
DomArrays = tuple[FloatArray, FloatArray, IntArray, IntArray, FloatArray, IntArray, IntArray]
HitArrays = tuple[IntArray, FloatArray, FloatArray]
IceArrays = tuple[FloatArray, FloatArray, FloatArray]
SourceArrays = tuple[
    FloatArray, FloatArray, FloatArray, IntArray, FloatArray, FloatArray, IntArray, FloatArray
]


def _jit() -> Callable[[F], F]:
    return cast(Callable[[F], F], numba.njit(cache=True, fastmath=False, nogil=True))


@_jit()
def _normal(state: UIntArray) -> float:
    u1 = uniform(state)
    u2 = uniform(state)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@_jit()
def gamma_variate(state: UIntArray, shape: float) -> float:
    """Gamma(shape, 1) by Marsaglia & Tsang (shape < 1 boosted by u^(1/shape))."""
    boost = 1.0
    if shape < 1.0:
        boost = uniform(state) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = _normal(state)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(state)
        if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            return d * v * boost


@_jit()
def _string_hits(
    s: int,
    px: float,
    py: float,
    pz: float,
    vx: float,
    vy: float,
    vz: float,
    seg: float,
    t: float,
    n_g: float,
    a: float,
    weight: float,
    radius: float,
    doms: DomArrays,
    hits: HitArrays,
    n_hits: int,
) -> int:
    """Record the DOM spheres of string ``s`` this straight flight crosses (new hit count; -1: full)."""
    dom_xyz, string_xy, string_first, string_count = doms[0], doms[1], doms[2], doms[3]
    mx = px - string_xy[s, 0]
    my = py - string_xy[s, 1]
    hv = vx * vx + vy * vy
    h = min(max(-(mx * vx + my * vy) / hv, 0.0), seg) if hv > 1e-12 else 0.0
    dx = mx + vx * h
    dy = my + vy * h
    if dx * dx + dy * dy > (radius + 3.0) ** 2:  # the flight passes the string's axis too far
        return n_hits
    z0 = min(pz, pz + vz * seg) - radius - 3.0
    z1 = max(pz, pz + vz * seg) + radius + 3.0
    for d in range(string_first[s], string_first[s] + string_count[s]):
        if dom_xyz[d, 2] < z0 or dom_xyz[d, 2] > z1:
            continue
        ox = px - dom_xyz[d, 0]
        oy = py - dom_xyz[d, 1]
        oz = pz - dom_xyz[d, 2]
        b = ox * vx + oy * vy + oz * vz
        disc = b * b - (ox * ox + oy * oy + oz * oz - radius * radius)
        if disc <= 0.0:
            continue
        root = math.sqrt(disc)
        s_in = max(-b - root, 0.0)
        s_out = min(-b + root, seg)
        if s_out <= s_in:
            continue
        if n_hits >= hits[0].size:
            return -1
        s_near = min(max(-b, s_in), s_out)  # the point of the chord nearest the DOM's centre
        hits[0][n_hits] = d
        hits[1][n_hits] = t + s_near * n_g / C_VACUUM
        hits[2][n_hits] = weight * math.exp(-a * s_near) * (s_out - s_in)
        n_hits += 1
    return n_hits


@_jit()
def _detect(
    px: float,
    py: float,
    pz: float,
    vx: float,
    vy: float,
    vz: float,
    seg: float,
    t: float,
    n_g: float,
    a: float,
    weight: float,
    radius: float,
    doms: DomArrays,
    seen: IntArray,
    stamp: int,
    hits: HitArrays,
    n_hits: int,
) -> int:
    """Record the DOM spheres this straight flight crosses, through the xy cells its extent covers.

    ``weight`` is the photon's weight x acceptance / sphere volume: a hit gains it x exp(-a s) x chord.
    """
    grid, cell_start, cell_strings = doms[4], doms[5], doms[6]
    qx = px + vx * seg
    qy = py + vy * seg
    nx = int(math.sqrt(cell_start.size - 1) + 0.5)
    lo_x = math.floor((min(px, qx) - grid[0]) / grid[2])
    hi_x = math.floor((max(px, qx) - grid[0]) / grid[2])
    lo_y = math.floor((min(py, qy) - grid[1]) / grid[2])
    hi_y = math.floor((max(py, qy) - grid[1]) / grid[2])
    if hi_x < 0 or hi_y < 0 or lo_x >= nx or lo_y >= nx:
        return n_hits
    for cx in range(max(lo_x, 0), min(hi_x, nx - 1) + 1):
        for cy in range(max(lo_y, 0), min(hi_y, nx - 1) + 1):
            cell = cx * nx + cy
            for k in range(cell_start[cell], cell_start[cell + 1]):
                s = cell_strings[k]
                if seen[s] == stamp:  # listed in an earlier cell of this flight
                    continue
                seen[s] = stamp
                n_hits = _string_hits(
                    s, px, py, pz, vx, vy, vz, seg, t, n_g, a, weight, radius, doms, hits, n_hits
                )
                if n_hits < 0:
                    return -1
    return n_hits


@_jit()
def _emit(
    state: UIntArray,
    kind: int,
    position: FloatArray,
    direction: FloatArray,
    t0: float,
    length: float,
    long_shape: float,
    n_p: float,
) -> tuple[float, float, float, float, float, float, float]:
    """Where, when and in which direction a source's photon starts: (x, y, z, t, vx, vy, vz)."""
    ux, uy, uz = direction[0], direction[1], direction[2]
    if kind == KIND_CASCADE:
        along = gamma_variate(state, long_shape) * _RADIATION_LENGTH_M / 0.632
    else:
        along = uniform(state) * length
    ex, ey, ez = ux, uy, uz
    if kind != KIND_TRACK:
        one_minus = 3.0
        while one_minus > 2.0:
            one_minus = (-math.log(1.0 - uniform(state)) / _CASCADE_B) ** (1.0 / _CASCADE_A)
        ex, ey, ez = rotate(ux, uy, uz, 1.0 - one_minus, 2.0 * math.pi * uniform(state))
    vx, vy, vz = rotate(ex, ey, ez, 1.0 / n_p, 2.0 * math.pi * uniform(state))
    return (
        position[0] + ux * along,
        position[1] + uy * along,
        position[2] + uz * along,
        t0 + along / C_VACUUM,
        vx,
        vy,
        vz,
    )


@_jit()
def _flight(
    tau: float, b: float, vz: float, depth: float, layer: int, inner_edges: FloatArray
) -> tuple[float, bool, bool]:
    """The next straight flight for ``tau`` scattering depths left in this layer: (length, whether it ends
    on a layer boundary, whether it ends at the longest flight before a stop check)."""
    seg = tau / b
    partial = seg > _MAX_SEGMENT
    if partial:
        seg = _MAX_SEGMENT
    to_edge = math.inf
    if vz > 1e-12 and layer > 0:
        to_edge = (depth - inner_edges[layer - 1]) / vz
    elif vz < -1e-12 and layer < inner_edges.size:
        to_edge = (inner_edges[layer] - depth) / (-vz)
    if to_edge < seg:
        return max(to_edge, 0.0), True, False
    return seg, False, partial


@_jit()
def _outside(px: float, py: float, pz: float, box: FloatArray) -> bool:
    return bool(px < box[0] or px > box[1] or py < box[2] or py > box[3] or pz < box[4] or pz > box[5])


@_jit()
def _wavelength_scaling(lam: float, g: float) -> tuple[float, float, float, float]:
    """(group index, b / b_e(400), a_dust / a_dust(400), the ice's own absorption) at ``lam`` nm."""
    return (
        group_index(lam),
        (lam / 400.0) ** -0.898 / (1.0 - g),
        (lam / 400.0) ** -1.084,
        6954.0 * math.exp(-6618.0 / lam),
    )


@_jit()
def _fate(
    state: UIntArray,
    px: float,
    py: float,
    pz: float,
    t: float,
    t_stop: float,
    w: float,
    w0: float,
    box: FloatArray,
    tally: FloatArray,
) -> float:
    """The photon's weight after the stop checks: -1 when it left the box, came too late, or lost the
    Russian roulette (weight under 5% of its start: kept with probability 0.2 at 5x the weight)."""
    if _outside(px, py, pz, box) or t > t_stop:
        tally[3] += 1.0
        return -1.0
    if w < _ROULETTE_WEIGHT * w0:
        if uniform(state) >= 0.2:
            tally[2] += 1.0
            return -1.0
        return w * 5.0
    return w


@_jit()
def _propagate(
    state: UIntArray,
    start: tuple[float, float, float, float, float, float, float],
    lam: float,
    w0: float,
    ice: IceArrays,
    g: float,
    f_sl: float,
    coefficients: FloatArray,
    doms: DomArrays,
    box: FloatArray,
    radius: float,
    t_stop: float,
    seen: IntArray,
    stamp: int,
    hits: HitArrays,
    n_hits: int,
    tally: FloatArray,
) -> tuple[int, int]:
    """Follow one photon until it is absorbed (roulette), leaves the box or is too late: (hits, stamp)."""
    inner_edges, scattering_e400, absorption400 = ice
    px, py, pz, t, vx, vy, vz = start
    n_g, b_scale, a_scale, a_ice = _wavelength_scaling(lam, g)
    inv_volume = 1.0 / (4.0 / 3.0 * math.pi * radius**3)
    w = w0
    depth = DEPTH_OF_ORIGIN_M - pz
    layer = int(np.searchsorted(inner_edges, depth, side="right"))
    steps = 0
    while steps < _MAX_STEPS:
        steps += 1
        tau = -math.log(uniform(state))
        acc = acceptance(vz, coefficients)
        while tau > 0.0:
            b = scattering_e400[layer] * b_scale
            a = max(absorption400[layer] - _ICE_OWN_400, 1e-6) * a_scale + a_ice
            seg, crossing, partial = _flight(tau, b, vz, depth, layer, inner_edges)
            if acc > 0.0:
                stamp += 1
                n_hits = _detect(
                    px, py, pz, vx, vy, vz, seg, t, n_g, a, w * acc * inv_volume, radius, doms, seen, stamp,
                    hits, n_hits,
                )  # fmt: skip
                if n_hits < 0:
                    return -1, stamp
            w *= math.exp(-a * seg)
            px += vx * seg
            py += vy * seg
            pz += vz * seg
            t += seg * n_g / C_VACUUM
            depth = DEPTH_OF_ORIGIN_M - pz
            tau = tau - seg * b if (crossing or partial) else 0.0
            if crossing:
                layer += -1 if vz > 0.0 else 1
            w = _fate(state, px, py, pz, t, t_stop, w, w0, box, tally)
            if w < 0.0:
                tally[1] += steps
                return n_hits, stamp
        vx, vy, vz = rotate(vx, vy, vz, scatter_cos(state, g, f_sl), 2.0 * math.pi * uniform(state))
    tally[1] += steps
    return n_hits, stamp


@_jit()
def track_photons(
    seed: int,
    sources: SourceArrays,
    lam_grid: FloatArray,
    lam_cdf: FloatArray,
    ice: IceArrays,
    g: float,
    f_sl: float,
    coefficients: FloatArray,
    doms: DomArrays,
    box: FloatArray,
    radius: float,
    max_delay_ns: float,
    hits: HitArrays,
    tally: FloatArray,
) -> int:
    """Track every source's photons; fill the hit arrays; return the hit count, or -1 when they are full.

    ``sources`` = (position (S, 3), direction (S, 3), time, kind, length, energy, photons, alpha);
    ``ice`` = (inner layer edges by depth, b_e(400) and a(400) per layer); ``doms`` = (DOM xyz,
    string xy, first DOM and DOM count per string, xy grid (x0, y0, cell size), cell starts, cell
    strings); ``hits`` = (DOM index, time, mean photoelectrons) to fill; ``box`` = (x_lo, x_hi, y_lo,
    y_hi, z_lo, z_hi): a photon leaving it is dropped. ``tally`` gains (photons tracked, scattering
    steps, photons dropped by roulette, photons that left the box or came too late).
    """
    position, direction, src_t, kind, length, energy, n_photons, alpha = sources
    seen = np.full(doms[1].shape[0], -1, dtype=np.int64)
    stamp = 0
    n_hits = 0
    for s in range(n_photons.size):
        state = seed_state(seed, s, 11)
        long_shape = 2.018 + 0.632 * math.log(max(energy[s], 1.0))
        for _ in range(n_photons[s]):
            tally[0] += 1.0
            lam = draw_wavelength(state, lam_grid, lam_cdf)
            start = _emit(
                state, kind[s], position[s], direction[s], src_t[s], length[s], long_shape, phase_index(lam)
            )
            n_hits, stamp = _propagate(
                state, start, lam, alpha[s], ice, g, f_sl, coefficients, doms, box, radius,
                start[3] + max_delay_ns, seen, stamp, hits, n_hits, tally,
            )  # fmt: skip
            if n_hits < 0:
                return -1
    return n_hits
