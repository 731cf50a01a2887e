"""``pandel_mpe``: a real per-pixel reconstruction of the event's own pulses (no IceTray).

Server side (:meth:`PandelMPEReco.prepare`): the message's IceTray frames are decoded
(:mod:`skybase.i3`), the split pulses cleaned as the online filter does (SeededRT, 6 us window, DeepCore
out: this reproduces the message's ``npulses``/``nch``/``qtot``), and each hit DOM reduced to its first
pulse time and total charge; DOM positions come from the shipped IC86 geometry and each DOM's Pandel
absorption from the shipped layered ice table (option ``ice``: ``layered``, the default, or
``homogeneous``). The setup carries these (a few kB), the online SplineMPE vertex (a seed) and the 3x3
rotation from J2000 to the detector frame at the event time.

Worker side (:meth:`PandelMPEReco.fit`): the pixel's direction is fixed; the vertex (two coordinates
transverse to the track and the time) is fitted to the first-pulse times with the MPE Pandel likelihood
of :mod:`.track_llh`, from several seeds (the online vertex, the charge centre, the brightest DOM, the
coarser parent pixel's vertex when refining; each with two time seeds), the best -ln L kept. A pixel
far from the light gives up its vertex search early (option ``give_up_dllh``, default 120: a -ln L
still more than that above the online direction's, fitted once in :meth:`prepare`, and coming down too
slowly to reach it; :class:`~skyscan.recos.track_llh.GiveUp` says when, and why no region changes);
0 never gives up.

E_in and E_tot are rough, documented proxies (not IceCube's energy reconstructions): E_in = qtot x
10 GeV/PE (about 0.1 PE per GeV deposited), E_tot = the muon energy whose mean loss a + b E
(a = 0.24 GeV/m, b = 3.3e-4 /m) deposits E_in along the track's chord through the instrumented
cylinder (r = 600 m, |z| <= 500 m), and at least E_in.

References: Ahrens et al. (AMANDA), "Muon track reconstruction and data selection techniques in AMANDA",
NIM A 524 (2004) 169; van Eijndhoven, Fadiran, Japaridze, "Implementation of a Gauss convoluted Pandel
PDF for track reconstruction in neutrino telescopes", Astropart. Phys. 28 (2007) 456; IceCube, "Energy
reconstruction methods in the IceCube neutrino telescope", JINST 9 (2014) P03009 (the muon losses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from skybase.event import EventFormatError, RealtimeEvent
from skybase.i3.cleaning import CleanedPulses, clean
from skybase.i3.event import EventFrames
from skybase.i3.geometry import Geometry, IceTable
from skyscan.recos.base import (
    PixelFit,
    PixelSeed,
    Reco,
    RecoKind,
    RecoOptionError,
    Setup,
    float_option,
    reject_unknown_options,
)
from skyscan.recos.online_seed import (
    event_frames,
    online_seed,
    reference_llh,
    setup_give_up,
    setup_online_vertex,
)
from skyscan.recos.pandel import pandel_tables
from skyscan.recos.pixel_track import parent_seed, parent_vertex, travel_direction
from skyscan.recos.track_llh import DomHits, GiveUp, TrackLikelihood, ice_scaled, perpendicular_basis

FloatArray = npt.NDArray[np.float64]

_OPTIONS = ("jitter_ns", "noise_per_ns", "ice", "give_up_dllh")
ICE_MODELS = ("layered", "homogeneous")
DEFAULT_JITTER_NS = 4.0
DEFAULT_NOISE_PER_NS = 1e-6
#: -ln L above the online direction's beyond which a far pixel's vertex search gives up (0: never)
DEFAULT_GIVE_UP_DLLH = 120.0
GEV_PER_PE = 10.0
MUON_LOSS_A_GEV_PER_M = 0.24
MUON_LOSS_B_PER_M = 3.3e-4
CYLINDER_RADIUS_M = 600.0
CYLINDER_HALF_HEIGHT_M = 500.0
_TIME_QUANTILES = (0.1, 0.3)
#: instrumented depths (m) over which the ice's reference scattering / absorption are averaged
_INSTRUMENTED_DEPTH_M = (1450.0, 2450.0)


def detector_rotation(event: RealtimeEvent) -> FloatArray:
    """3x3 A with J2000 unit vector = A @ detector "from" unit vector, at the event's time."""
    from skybase.sky import detector_to_j2000  # the one coordinate conversion of the project

    zen = np.array([math.pi / 2, math.pi / 2, 0.0])
    azi = np.array([0.0, math.pi / 2, 0.0])
    ra, dec = detector_to_j2000(zen, azi, event.event_time)
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    cols = np.stack([np.cos(dec_r) * np.cos(ra_r), np.cos(dec_r) * np.sin(ra_r), np.sin(dec_r)])
    return np.asarray(cols, dtype=np.float64)


def event_hits(
    frames: EventFrames, geometry: Geometry, ice: IceTable | None
) -> tuple[DomHits, dict[str, Any]]:
    """The cleaned pulses as per-DOM hits, and a summary (counts, interpolated DOMs)."""
    return dom_hits(clean(frames.split_pulses(), geometry), geometry, ice)


def dom_hits(
    cleaned: CleanedPulses, geometry: Geometry, ice: IceTable | None
) -> tuple[DomHits, dict[str, Any]]:
    """Per-DOM first time and charge of cleaned pulses; ``ice`` None for homogeneous (bulk) ice."""
    pulses = cleaned.pulses
    starts = pulses.dom_starts()
    first = starts[:-1]
    charge = np.add.reduceat(pulses.charge.astype(np.float64), first) if first.size else np.zeros(0)
    t_first = np.minimum.reduceat(pulses.time, first) if first.size else np.zeros(0)
    xyz, interpolated = geometry.positions(pulses.string[first], pulses.om[first])
    if ice is None:
        ones = np.ones(len(first))
        lam, b = ice_scaled(ones, ones, 1.0, 1.0)
    else:
        scattering, absorption = ice.at_z(xyz[:, 2])
        lam, b = ice_scaled(scattering, absorption, *reference_ice(ice))
    summary = {
        "npulses": cleaned.npulses,
        "nch": cleaned.nch,
        "qtot": round(cleaned.qtot, 3),
        "interpolated_doms": int(interpolated.sum()),
    }
    return DomHits(xyz, t_first, charge, lam, b), summary


def reference_ice(ice: IceTable) -> tuple[float, float]:
    inside = (ice.depth >= _INSTRUMENTED_DEPTH_M[0]) & (ice.depth <= _INSTRUMENTED_DEPTH_M[1])
    return float(ice.scattering[inside].mean()), float(ice.absorption[inside].mean())


def chord_length(point: FloatArray, u: FloatArray) -> float:
    """Length (m) of the line point + s u inside the instrumented cylinder."""
    px, py, pz = point
    ux, uy, uz = u
    lo, hi = -math.inf, math.inf
    a = ux * ux + uy * uy
    if a > 1e-12:
        bq = 2 * (px * ux + py * uy)
        cq = px * px + py * py - CYLINDER_RADIUS_M**2
        disc = bq * bq - 4 * a * cq
        if disc <= 0:
            return 0.0
        root = math.sqrt(disc)
        lo, hi = (-bq - root) / (2 * a), (-bq + root) / (2 * a)
    elif px * px + py * py > CYLINDER_RADIUS_M**2:
        return 0.0
    if abs(uz) > 1e-12:
        z1, z2 = (-CYLINDER_HALF_HEIGHT_M - pz) / uz, (CYLINDER_HALF_HEIGHT_M - pz) / uz
        lo, hi = max(lo, min(z1, z2)), min(hi, max(z1, z2))
    elif abs(pz) > CYLINDER_HALF_HEIGHT_M:
        return 0.0
    return max(0.0, hi - lo)


def energies(qtot: float, point: FloatArray, u: FloatArray) -> tuple[float, float]:
    e_in = qtot * GEV_PER_PE
    length = chord_length(point, u)
    if length <= 0.0:
        return e_in, e_in
    muon = (e_in / length - MUON_LOSS_A_GEV_PER_M) / MUON_LOSS_B_PER_M
    return e_in, max(e_in, muon)


class PandelMPEReco(Reco):
    name: ClassVar[str] = "pandel_mpe"
    #: a fit of the detector's light (the event's own pulses): a reconstruction; whether its maps go
    #: public is the client's choice (skymist's plans hold them while its 90% regions under-cover)
    kind: ClassVar[RecoKind] = "reconstruction"
    #: its own 2 Delta LLH set calibrated on skyscan simulate (``skyscan/data/thresholds_pandel_mpe.json``,
    #: 23.0 / 110.7), which skymist knows by this name
    region_method: ClassVar[str] = "pandel_mpe"
    description: ClassVar[str] = (
        "per-pixel fit of the event's cleaned pulses (decoded from its IceTray frames): vertex and time "
        "fitted with an MPE likelihood of a jitter-convolved Pandel PDF in layered ice"
    )

    def __init__(
        self,
        hits: DomHits,
        rotation: FloatArray,
        online_vertex: FloatArray | None,
        jitter_ns: float,
        noise_per_ns: float,
        give_up: GiveUp | None = None,
    ) -> None:
        self.hits = hits
        self.give_up = give_up
        self.rotation = rotation
        self.online_vertex = online_vertex
        self.likelihood = TrackLikelihood(hits, pandel_tables(jitter_ns), noise_per_ns)
        self.qtot = float(hits.charge.sum())
        self.brightest = hits.xyz[int(np.argmax(hits.charge))]

    @classmethod
    def prepare(cls, event: RealtimeEvent, options: Mapping[str, Any]) -> Setup:
        reject_unknown_options(cls.name, options, _OPTIONS)
        jitter = float_option(cls.name, options, "jitter_ns", DEFAULT_JITTER_NS, minimum=0.5)
        noise = float_option(cls.name, options, "noise_per_ns", DEFAULT_NOISE_PER_NS, minimum=1e-12)
        give_up_dllh = float_option(cls.name, options, "give_up_dllh", DEFAULT_GIVE_UP_DLLH)
        ice_model = options.get("ice", "layered")
        if ice_model not in ICE_MODELS:
            raise RecoOptionError(
                f"reco_options.ice of {cls.name!r}: expected one of {list(ICE_MODELS)}, got {ice_model!r}"
            )
        frames = event_frames(event, cls.name)
        ice = IceTable.load() if ice_model == "layered" else None
        hits, summary = event_hits(frames, Geometry.load(), ice)
        if hits.t_first.size < 5:
            raise EventFormatError(
                f"value.data.frames: only {hits.t_first.size} DOMs left after cleaning; {cls.name!r} "
                f"needs at least 5"
            )
        seed = online_seed(frames)
        reference = reference_llh(
            seed, give_up_dllh, lambda vertex: cls(hits, np.eye(3), vertex, jitter, noise)
        )
        return {
            "doms": np.column_stack([hits.xyz, hits.t_first, hits.charge, hits.lam, hits.b])
            .round(4)
            .tolist(),
            "rotation": detector_rotation(event).tolist(),
            "online_vertex": None if seed is None else seed.vertex,
            "jitter_ns": jitter,
            "noise_per_ns": noise,
            "ice": ice_model,
            "reference_llh": reference,
            "give_up_dllh": give_up_dllh,
            "cleaned": summary,
        }

    @classmethod
    def from_setup(cls, setup: Mapping[str, Any]) -> PandelMPEReco:
        doms = np.asarray(setup["doms"], dtype=np.float64)
        if doms.ndim != 2 or doms.shape[1] != 7 or doms.shape[0] < 5:
            raise ValueError(f"pandel_mpe setup: doms must be an (N >= 5, 7) table, got shape {doms.shape}")
        hits = DomHits(doms[:, 0:3], doms[:, 3], doms[:, 4], doms[:, 5], doms[:, 6])
        return cls(
            hits,
            np.asarray(setup["rotation"], dtype=np.float64),
            setup_online_vertex(setup),
            float(setup["jitter_ns"]),
            float(setup["noise_per_ns"]),
            setup_give_up(setup),
        )

    def direction(self, ra: float, dec: float) -> FloatArray:
        """The muon's direction of travel (detector frame) for a pixel at J2000 (ra, dec) radians."""
        return travel_direction(self.rotation, ra, dec)

    def seeds(self, u: FloatArray, parent: FloatArray | None) -> FloatArray:
        """(alpha, beta, t0) seeds: the charge centre, the brightest DOM, the online vertex (two time
        seeds each) and the parent pixel's fitted vertex with its own time (``parent`` = x, y, z, t)."""
        e1, e2 = perpendicular_basis(u)
        centre = self.likelihood.centre
        points = [np.zeros(3), self.brightest - centre]
        if self.online_vertex is not None:
            points.append(self.online_vertex - centre)
        transverse = np.array([[p @ e1, p @ e2] for p in points])
        times = self.likelihood.time_seeds(u, transverse, e1, e2, _TIME_QUANTILES)
        seeds = [[ab[0], ab[1], t] for ab, ts in zip(transverse, times, strict=True) for t in ts]
        if parent is not None:
            seeds.append(parent_seed(parent, centre, u, e1, e2))
        return np.array(seeds)

    def fit_direction(self, u: FloatArray, parent: FloatArray | None = None) -> tuple[PixelFit, int]:
        params, llh, evaluations = self.likelihood.fit(u, self.seeds(u, parent), give_up=self.give_up)
        e1, e2 = perpendicular_basis(u)
        point = self.likelihood.centre + params[0] * e1 + params[1] * e2
        e_in, e_tot = energies(self.qtot, point, u)
        fit = PixelFit(
            llh=llh,
            E_in=e_in,
            E_tot=e_tot,
            X=float(point[0]),
            Y=float(point[1]),
            Z=float(point[2]),
            T=float(params[2]),
        )
        return fit, evaluations

    def fit(self, seed: PixelSeed) -> PixelFit:
        fit, _ = self.fit_direction(self.direction(seed.ra, seed.dec), parent_vertex(seed))
        return fit
