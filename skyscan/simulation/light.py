"""The photon model of ``skyscan simulate``: deliberately not the reco's Pandel PDF.

A muon of energy E crosses the detector in a straight line (direction u, through impact point p0 at
t0 = 10 us). Its losses are drawn in 10 m segments: a continuous part a x 10 m (a = 0.24 GeV/m) and a
stochastic part b E x 10 m x G (b = 3.3e-4 /m, G ~ Gamma(shape 0.4, mean 1): a few large showers).
Each segment is a point source: a DOM at distance r from the segment's centre expects

    mu = Y x loss(GeV) x eff x A(cos eta) x exp(-r / L_att) / max(r, 5 m)^2,   L_att = 0.7 x absorption(z),

photoelectrons (Y = LIGHT_YIELD, A = (1 + 0.7 cos eta) / 1.7 favours light arriving from below, eta
measured from the down-looking PMT axis, absorption from the shipped ice table at the DOM's depth, eff =
the DOM's rde x a per-event log-normal spread of 10%). Photoelectron counts are Poisson.

Arrival time of a photoelectron from segment s: t0 + s / c + r / c_ice + delay + jitter, where

- with probability exp(-r / L_s) the photon is direct (delay 0), L_s the table's effective scattering
  length at the DOM's depth;
- otherwise delay ~ LogNormal(median 100 ns x (r / L_s)^1.2, sigma 0.9): a scattering delay whose
  shape (log-normal, with an unscattered component) is not the reco's Gamma/Pandel, and whose scale
  follows the layered ice (scattering) that the reco does not use;
- jitter ~ Normal(0, 2 ns), the PMT transit-time spread.

Photoelectrons within 8 ns of the previous one on a DOM merge into one pulse (charge = sum of SPE
charges ~ Normal(1, 0.3) clipped at 0.15 PE; width 8 ns); pulse times are whole ns. Noise: every in-ice
DOM has 650 Hz of uncorrelated 1 PE noise over the 20 us readout. A pulse is HLC (LC flag) when a DOM
within 2 positions on the same string has a pulse within 1 us.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from skybase.i3.geometry import Geometry, IceTable
from skybase.i3.pulses import FLAG_ATWD, FLAG_FADC, FLAG_LC, PulseSeries

FloatArray = npt.NDArray[np.float64]

C_M_PER_NS = 0.299792458
C_ICE_M_PER_NS = C_M_PER_NS / 1.35634
LOSS_A_GEV_PER_M = 0.24
LOSS_B_PER_M = 3.3e-4
SEGMENT_M = 10.0
TRACK_HALF_LENGTH_M = 1000.0
#: chosen so a 30-60 TeV muon through IC86 leaves ~1000 PE after cleaning, as the real events do
LIGHT_YIELD = 12.0
ATTENUATION_OF_ABSORPTION = 0.7
MAX_DISTANCE_M = 300.0
NOISE_HZ = 650.0
READOUT_NS = 20_000.0
T0_NS = 10_000.0
MERGE_NS = 8.0
JITTER_NS = 2.0
DELAY_MEDIAN_NS = 100.0
DELAY_POWER = 1.2
DELAY_SIGMA = 0.9


@dataclass(frozen=True)
class Muon:
    """The simulated truth: where the muon comes FROM (detector zenith/azimuth), energy, a point on it."""

    zenith: float
    azimuth: float
    energy_gev: float
    point: FloatArray  # p0 (m), passed at T0_NS

    @property
    def direction(self) -> FloatArray:
        st = np.sin(self.zenith)
        return -np.array([st * np.cos(self.azimuth), st * np.sin(self.azimuth), np.cos(self.zenith)])


def random_muon(rng: np.random.Generator, log10_e: tuple[float, float], impact_m: float) -> Muon:
    zenith = float(np.arccos(rng.uniform(-1.0, 1.0)))
    azimuth = float(rng.uniform(0.0, 2.0 * np.pi))
    energy = float(10.0 ** rng.uniform(*log10_e))
    muon = Muon(zenith, azimuth, energy, np.zeros(3))
    u = muon.direction
    helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    radius = impact_m * np.sqrt(rng.uniform())
    phi = rng.uniform(0.0, 2.0 * np.pi)
    return Muon(zenith, azimuth, energy, radius * (np.cos(phi) * e1 + np.sin(phi) * e2))


def simulate_pulses(muon: Muon, rng: np.random.Generator, geometry: Geometry, ice: IceTable) -> PulseSeries:
    """All in-ice pulses (signal and noise) of one muon, sorted as a pulse map."""
    strings, oms = geometry.all_doms()
    xyz, _ = geometry.positions(strings, oms)
    eff = geometry.efficiency(strings, oms) * np.exp(rng.normal(0.0, 0.1, size=strings.size))
    scattering, absorption = ice.at_z(xyz[:, 2])
    u = muon.direction
    s = np.arange(-TRACK_HALF_LENGTH_M, TRACK_HALF_LENGTH_M, SEGMENT_M) + SEGMENT_M / 2
    stochastic = rng.gamma(0.4, 1.0 / 0.4, size=s.size)
    loss = SEGMENT_M * (LOSS_A_GEV_PER_M + LOSS_B_PER_M * muon.energy_gev * stochastic)
    centres = muon.point[None, :] + s[:, None] * u[None, :]
    # DOMs near the track only
    rel = xyz - muon.point
    along = rel @ u
    perp = np.linalg.norm(rel - along[:, None] * u, axis=1)
    near = np.flatnonzero(perp < MAX_DISTANCE_M)
    d = xyz[near][:, None, :] - centres[None, :, :]  # (D, S, 3): segment -> DOM
    r = np.linalg.norm(d, axis=2)
    cos_eta = np.clip(-d[:, :, 2] / np.maximum(r, 1e-6), -1.0, 1.0)  # light going up hits the PMT face
    acceptance = (1.0 + 0.7 * cos_eta) / 1.7
    attenuation = np.exp(-r / (ATTENUATION_OF_ABSORPTION * absorption[near][:, None]))
    mu = LIGHT_YIELD * loss[None, :] * eff[near][:, None] * acceptance * attenuation / np.maximum(r, 5.0) ** 2
    counts = rng.poisson(mu)
    dom_idx, seg_idx = np.nonzero(counts)
    reps = counts[dom_idx, seg_idx]
    dom_of_pe = np.repeat(near[dom_idx], reps)
    seg_of_pe = np.repeat(seg_idx, reps)
    r_pe = np.repeat(r[dom_idx, seg_idx], reps)
    ls = scattering[dom_of_pe]
    direct = rng.uniform(size=r_pe.size) < np.exp(-r_pe / ls)
    median = DELAY_MEDIAN_NS * (r_pe / ls) ** DELAY_POWER
    delay = np.where(direct, 0.0, median * np.exp(DELAY_SIGMA * rng.normal(size=r_pe.size)))
    t_pe = (
        T0_NS
        + s[seg_of_pe] / C_M_PER_NS
        + r_pe / C_ICE_M_PER_NS
        + delay
        + rng.normal(0.0, JITTER_NS, size=r_pe.size)
    )
    # noise
    n_noise = rng.poisson(NOISE_HZ * READOUT_NS * 1e-9 * strings.size)
    noise_dom = rng.integers(0, strings.size, size=n_noise)
    noise_t = rng.uniform(0.0, READOUT_NS, size=n_noise)
    all_dom = np.concatenate([dom_of_pe, noise_dom])
    all_t = np.concatenate([t_pe, noise_t])
    keep = (all_t >= 0.0) & (all_t < READOUT_NS)
    return _pulses(all_dom[keep], all_t[keep], strings, oms, rng)


def _pulses(
    dom: npt.NDArray[np.int64],
    t: FloatArray,
    strings: npt.NDArray[np.int64],
    oms: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> PulseSeries:
    order = np.lexsort((t, dom))
    dom, t = dom[order], t[order]
    spe = np.maximum(rng.normal(1.0, 0.3, size=t.size), 0.15)
    # a new pulse where the DOM changes or the gap to the previous photoelectron exceeds MERGE_NS
    new = np.r_[True, (dom[1:] != dom[:-1]) | (t[1:] - t[:-1] > MERGE_NS)]
    pulse_id = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    p_dom = dom[first]
    p_time = np.round(t[first])
    p_charge = np.bincount(pulse_id, weights=spe)
    # whole-ns times must stay distinct within a DOM (I3SuperDST would merge them)
    same = np.r_[False, (p_dom[1:] == p_dom[:-1]) & (p_time[1:] <= p_time[:-1])]
    while same.any():
        p_time = np.where(same, np.r_[p_time[:1], p_time[:-1]] + 1.0, p_time)
        same = np.r_[False, (p_dom[1:] == p_dom[:-1]) & (p_time[1:] <= p_time[:-1])]
    p_string = strings[p_dom]
    p_om = oms[p_dom]
    hlc = _local_coincidence(p_string, p_om, p_time)
    flags = np.where(hlc, FLAG_LC | FLAG_ATWD | FLAG_FADC, FLAG_FADC).astype(np.uint8)
    return PulseSeries(
        p_string.astype(np.int16),
        p_om.astype(np.int16),
        p_time,
        p_charge.astype(np.float32),
        np.full(p_time.size, 8.0, dtype=np.float32),
        flags,
    )


def _local_coincidence(
    string: npt.NDArray[np.int64], om: npt.NDArray[np.int64], time: FloatArray
) -> npt.NDArray[np.bool_]:
    hlc = np.zeros(time.size, dtype=bool)
    for s in np.unique(string):
        on = np.flatnonzero(string == s)
        o, t = om[on], time[on]
        neighbour = (np.abs(o[:, None] - o[None, :]) <= 2) & (o[:, None] != o[None, :])
        hlc[on] = (neighbour & (np.abs(t[:, None] - t[None, :]) <= 1000.0)).any(axis=1)
    return hlc
