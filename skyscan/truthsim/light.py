"""From a propagated muon to the expected photoelectrons of each DOM, by direct photon tracking.

Light per source (facts sheet section 1; :mod:`skyscan.photonics.optics` holds the numbers):

- a stretch of track: its length x the secondaries factor 1 + max(0, 0.188 + 0.0206 ln E/GeV) of
  metres of bare-muon Cherenkov light (Raedel & Wiebusch 2012: the light of ionisation's knock-on
  electrons), plus its radiative losses below the cut as cascade light;
- a stochastic loss of energy E_l: 5.321 m x 0.910 / 0.9216 = 5.25 m of track-equivalent light per
  GeV (electromagnetic: bremsstrahlung, pair production); a photonuclear (hadronic) loss gives
  F = 1 - (E_l / 0.188 GeV)^-0.163 (1 - 0.310) of that (Raedel & Wiebusch 2013; no hadronic
  fluctuations beyond the loss itself).

A metre of track-equivalent light is ``pe_area_per_m`` m^2 of photoelectron effective area (Cherenkov
photons in 260-680 nm x the DOM's effective area x 0.9 for the cable). Each source emits
``photons_per_m`` tracked photons per metre of track-equivalent light (rounded at random, so the mean
is exact), each carrying ``pe_area_per_m / photons_per_m``. Sources farther than ``margin_m`` from the
DOMs' bounding box are left out, and photons leaving it are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from skybase.i3.geometry import Geometry
from skyscan.photonics import optics
from skyscan.photonics.ice import MEAN_COS, SIMPLIFIED_LIU_FRACTION, LayeredIce
from skyscan.truthsim import photons
from skyscan.truthsim.losses import PHOTONUCLEAR, MuonTrack, ionisation_gev_per_m

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

C_M_PER_NS = 0.299792458
CASCADE_M_PER_GEV = optics.CASCADE_TRACK_M_PER_GEV


@dataclass(frozen=True)
class LightSettings:
    photons_per_m: float = 1.0  # tracked photons per metre of track-equivalent light
    collect_m: float = 3.0  # radius of the volume estimator around each DOM
    margin_m: float = 150.0  # how far beyond the DOMs' bounding box light is followed
    max_delay_ns: float = 4000.0  # photons later than this after emission are dropped
    stretch_m: float = 10.0  # longest stretch of track emitting as one source


@dataclass(frozen=True)
class DomLayout:
    """All in-ice DOMs (present and interpolated), by string, with the xy grid the kernel searches."""

    strings: IntArray
    oms: IntArray
    xyz: FloatArray
    rde: FloatArray
    string_xy: FloatArray
    string_first: IntArray
    string_count: IntArray
    cell_origin: FloatArray
    cell_size: float
    cell_start: IntArray
    cell_strings: IntArray
    box: FloatArray  # DOMs' bounding box (x_lo, x_hi, y_lo, y_hi, z_lo, z_hi)

    @classmethod
    def build(cls, geometry: Geometry, reach_m: float, cell_m: float = 25.0) -> DomLayout:
        strings, oms = geometry.all_doms()
        xyz, _ = geometry.positions(strings, oms)
        return cls.from_positions(strings, oms, xyz, geometry.efficiency(strings, oms), reach_m, cell_m)

    @classmethod
    def from_positions(
        cls,
        strings: IntArray,
        oms: IntArray,
        xyz: FloatArray,
        rde: FloatArray,
        reach_m: float,
        cell_m: float = 25.0,
    ) -> DomLayout:
        """DOMs sorted by string (numbered 1..N, each DOM's OM on it) with their positions and rde."""
        n_strings = int(strings.max())
        string_xy = np.array([xyz[strings == s, :2].mean(axis=0) for s in range(1, n_strings + 1)])
        string_first = np.array([int(np.flatnonzero(strings == s)[0]) for s in range(1, n_strings + 1)])
        string_count = np.array([int((strings == s).sum()) for s in range(1, n_strings + 1)])
        lo = xyz.min(axis=0)
        hi = xyz.max(axis=0)
        origin = np.array([min(lo[0], lo[1]), min(lo[0], lo[1])]) - reach_m - cell_m
        span = max(hi[0], hi[1]) + reach_m + cell_m - origin[0]
        n = math.ceil(span / cell_m)
        starts = [0]
        members: list[int] = []
        for cx in range(n):
            for cy in range(n):
                x0, y0 = origin[0] + cx * cell_m, origin[1] + cy * cell_m
                nearest_x = np.clip(string_xy[:, 0], x0, x0 + cell_m)
                nearest_y = np.clip(string_xy[:, 1], y0, y0 + cell_m)
                dist = np.hypot(string_xy[:, 0] - nearest_x, string_xy[:, 1] - nearest_y)
                members.extend(np.flatnonzero(dist <= reach_m + 3.0).tolist())
                starts.append(len(members))
        box = np.array([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]])
        return cls(
            strings.astype(np.int64),
            oms.astype(np.int64),
            xyz,
            rde,
            string_xy,
            string_first.astype(np.int64),
            string_count.astype(np.int64),
            origin,
            float(cell_m),
            np.asarray(starts, dtype=np.int64),
            np.asarray(members, dtype=np.int64),
            box,
        )

    def kernel_arrays(self) -> photons.DomArrays:
        """The layout as :func:`skyscan.truthsim.photons.track_photons` takes it."""
        grid = np.array([self.cell_origin[0], self.cell_origin[1], self.cell_size])
        return (
            self.xyz,
            self.string_xy,
            self.string_first,
            self.string_count,
            grid,
            self.cell_start,
            self.cell_strings,
        )

    def expanded_box(self, margin_m: float) -> FloatArray:
        out: FloatArray = self.box + margin_m * np.array([-1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
        return out


@dataclass(frozen=True)
class Sources:
    position: FloatArray  # (S, 3) start of a stretch / vertex of a loss (m)
    direction: FloatArray  # (S, 3)
    time_ns: FloatArray
    kind: IntArray
    length_m: FloatArray
    energy_gev: FloatArray
    n_photons: IntArray

    @property
    def size(self) -> int:
        return int(self.time_ns.size)


def hadronic_light_fraction(energy_gev: npt.ArrayLike) -> FloatArray:
    e = np.maximum(np.asarray(energy_gev, dtype=np.float64), 0.2)
    out: FloatArray = 1.0 - (e / 0.188) ** -0.163 * (1.0 - 0.310)
    return out


def inside_box(points: FloatArray, box: FloatArray) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = (
        (points[:, 0] >= box[0])
        & (points[:, 0] <= box[1])
        & (points[:, 1] >= box[2])
        & (points[:, 1] <= box[3])
        & (points[:, 2] >= box[4])
        & (points[:, 2] <= box[5])
    )
    return out


def _stretches(track: MuonTrack, stretch_m: float) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The track cut at its sample points and to at most ``stretch_m``: (start distance, length, muon
    energy, energy of the radiative losses below the cut) per stretch."""
    x0, x1 = track.distances_m[:-1], track.distances_m[1:]
    e_mid = 0.5 * (track.energy_gev[:-1] + track.energy_gev[1:])
    pieces = np.maximum(np.ceil((x1 - x0) / stretch_m), 1).astype(np.int64)
    idx = np.repeat(np.arange(x0.size), pieces)
    k = np.arange(idx.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    length = (x1 - x0)[idx] / pieces[idx]
    energy = e_mid[idx]
    continuous = track.continuous_gev[idx] / pieces[idx]
    sub_cut_gev = np.maximum(continuous - ionisation_gev_per_m(energy) * length, 0.0)
    return x0[idx] + k * length, length, energy, sub_cut_gev


def _loss_light_m(track: MuonTrack) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(distance, energy, metres of track-equivalent light) of each stochastic loss."""
    distance = np.array([loss.distance_m for loss in track.losses], dtype=np.float64)
    energy = np.array([loss.energy_gev for loss in track.losses], dtype=np.float64)
    process = np.array([loss.process for loss in track.losses], dtype=np.int64)
    hadronic = np.where(process == PHOTONUCLEAR, hadronic_light_fraction(energy), 1.0)
    return distance, energy, energy * CASCADE_M_PER_GEV * hadronic


def light_sources(
    track: MuonTrack,
    start: FloatArray,
    direction: FloatArray,
    t_start_ns: float,
    box: FloatArray,
    settings: LightSettings,
    rng: np.random.Generator,
) -> Sources:
    """The muon's light sources inside ``box``: stretches of track (bare muon light, and the light of
    the losses below the cut) and stochastic losses."""
    s0, length, energy, sub_cut_gev = _stretches(track, settings.stretch_m)
    stretch_pos = start[None, :] + s0[:, None] * direction[None, :]
    keep = inside_box(stretch_pos + 0.5 * length[:, None] * direction[None, :], box)
    loss_s, loss_e, loss_m = _loss_light_m(track)
    loss_pos = start[None, :] + loss_s[:, None] * direction[None, :]
    keep_loss = inside_box(loss_pos, box)

    def count(metres: FloatArray) -> IntArray:
        x = metres * settings.photons_per_m
        out: IntArray = np.floor(x + rng.uniform(size=x.size)).astype(np.int64)
        return out

    n = np.concatenate(
        [
            count(length[keep] * optics.secondaries_factor(energy[keep])),
            count(sub_cut_gev[keep] * CASCADE_M_PER_GEV),
            count(loss_m[keep_loss]),
        ]
    )
    n_keep, n_loss = int(keep.sum()), int(keep_loss.sum())
    kind = np.concatenate(
        [
            np.full(n_keep, photons.KIND_TRACK),
            np.full(n_keep, photons.KIND_TRACK_CASCADE),
            np.full(n_loss, photons.KIND_CASCADE),
        ]
    ).astype(np.int64)
    use = n > 0
    return Sources(
        np.concatenate([stretch_pos[keep], stretch_pos[keep], loss_pos[keep_loss]])[use],
        np.ascontiguousarray(np.broadcast_to(direction, (int(use.sum()), 3))),
        (t_start_ns + np.concatenate([s0[keep], s0[keep], loss_s[keep_loss]]) / C_M_PER_NS)[use],
        kind[use],
        np.concatenate([length[keep], length[keep], np.zeros(n_loss)])[use],
        np.concatenate([energy[keep], sub_cut_gev[keep], loss_e[keep_loss]])[use],
        n[use],
    )


@dataclass(frozen=True)
class Hits:
    """Expected photoelectrons delivered by tracked photons: DOM index, arrival time, mean PE."""

    dom: IntArray
    time_ns: FloatArray
    mean_pe: FloatArray
    photons_tracked: int
    scattering_steps: int


def track_light(
    sources: Sources,
    ice: LayeredIce,
    layout: DomLayout,
    settings: LightSettings,
    seed: int,
) -> Hits:
    """Propagate every source's photons (numba kernel) and return the DOM hits, before DOM efficiency."""
    spectrum = optics.dom_weighted_spectrum()
    alpha = spectrum.pe_area_per_m / settings.photons_per_m
    capacity = max(100_000, int(sources.n_photons.sum()) * 2)
    box = layout.expanded_box(settings.margin_m)
    coefficients = np.asarray(optics.ANGULAR_ACCEPTANCE_COEFFICIENTS, dtype=np.float64)
    source_arrays = (
        sources.position,
        sources.direction,
        sources.time_ns,
        sources.kind,
        sources.length_m,
        sources.energy_gev,
        sources.n_photons,
        np.full(sources.size, alpha),
    )
    ice_arrays = (ice.inner_edges, ice.scattering_e_per_m, ice.absorption_per_m)
    while True:
        hits = (np.empty(capacity, dtype=np.int64), np.empty(capacity), np.empty(capacity))
        tally = np.zeros(4)
        n = photons.track_photons(
            seed,
            source_arrays,
            spectrum.wavelength_nm,
            spectrum.cdf,
            ice_arrays,
            MEAN_COS,
            SIMPLIFIED_LIU_FRACTION,
            coefficients,
            layout.kernel_arrays(),
            box,
            settings.collect_m,
            settings.max_delay_ns,
            hits,
            tally,
        )
        if n >= 0:
            return Hits(hits[0][:n], hits[1][:n], hits[2][:n], int(tally[0]), int(tally[1]))
        capacity *= 4
