"""``table_mpe``: a per-pixel fit of the event's pulses with the photon tables (timing and charge).

Server side (:meth:`TableMPEReco.prepare`): the pulses are decoded and cleaned as ``pandel_mpe`` does
(:mod:`skybase.i3`; the message's ``npulses``/``nch``/``qtot`` again) and each hit DOM reduced to its
first pulse time and total charge. The setup carries them by (string, OM) with the online SplineMPE
(or LineFit) vertex, the J2000 -> detector rotation and the options; the worker adds every other
in-ice DOM (DeepCore left out, as the cleaning does) as unhit, with the geometry's relative efficiency.

Worker side (:meth:`TableMPEReco.fit`): the pixel's direction is fixed; the vertex (two coordinates
transverse to the track, and the time) maximises the likelihood of :mod:`.table_llh` (MPE timing with
the tables' jitter-convolved arrival-time PDF, or SPE with ``timing: "spe"``, plus the Poisson charge
of hit and unhit DOMs near the track with the muon energy profiled), from the seeds ``pandel_mpe``
uses (charge centre, brightest DOM, online vertex, each with two time seeds, and the parent pixel's
vertex when refining), by the same batched pattern search; a far pixel gives up its vertex search as
pandel_mpe's does (option ``give_up_dllh``, default 200 above the online direction's -ln L, fitted
once in :meth:`prepare`; 0 never gives up). E_tot is the profiled muon energy (a fit of
the smooth-loss model, not IceCube's energy reconstruction); E_in is the mean loss (a + b E) along the
track's chord through the instrumented cylinder.

Its regions: Wilks' theorem for 2 degrees of freedom (``region_method: wilks``, 2 Delta LLH 1.39 /
4.61): not calibrated, and a likelihood of an approximate model (infinite muon, smooth losses) is
sharper than its errors, so they under-cover (measured in ``benchmarks/reco_comparison.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from skybase.event import EventFormatError, RealtimeEvent
from skybase.i3.cleaning import clean
from skybase.i3.geometry import DEEPCORE_STRINGS, Geometry
from skyscan.photonics.tables import RADIATIVE_LOSS_PER_M, track_geometry
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
from skyscan.recos.pandel_mpe import (
    MUON_LOSS_A_GEV_PER_M,
    chord_length,
    detector_rotation,
)
from skyscan.recos.pixel_track import parent_seed, parent_vertex, travel_direction
from skyscan.recos.table_llh import ChargeDoms, LikelihoodSettings, TableLikelihood
from skyscan.recos.track_llh import GiveUp, pattern_search, perpendicular_basis

FloatArray = npt.NDArray[np.float64]

_OPTIONS = (
    "timing",
    "jitter_ns",
    "noise_per_ns",
    "noise_pe",
    "saturation_pe",
    "charge_radius_m",
    "charge_weight",
    "give_up_dllh",
    "mpe_n_max",
    "charge_model_error",
    "smear_ns_per_100m",
)
#: -ln L above the online direction's beyond which a far pixel's vertex search gives up (0: never)
DEFAULT_GIVE_UP_DLLH = 200.0
TIMING_MODES = ("mpe", "spe")
_DEFAULTS = LikelihoodSettings()
_TIME_QUANTILES = (0.1, 0.3)


def settings_from_options(name: str, options: Mapping[str, Any]) -> LikelihoodSettings:
    """The likelihood's settings from a reco's options (each validated, named when bad)."""
    reject_unknown_options(name, options, _OPTIONS)
    timing = options.get("timing", "mpe")
    if timing not in TIMING_MODES:
        raise RecoOptionError(
            f"reco_options.timing of {name!r}: expected one of {list(TIMING_MODES)}, got {timing!r}"
        )
    return LikelihoodSettings(
        mpe=timing == "mpe",
        jitter_ns=float_option(name, options, "jitter_ns", _DEFAULTS.jitter_ns, minimum=0.5),
        noise_per_ns=float_option(name, options, "noise_per_ns", _DEFAULTS.noise_per_ns, minimum=1e-12),
        noise_pe=float_option(name, options, "noise_pe", _DEFAULTS.noise_pe, minimum=1e-6),
        saturation_pe=float_option(name, options, "saturation_pe", _DEFAULTS.saturation_pe, minimum=10.0),
        charge_radius_m=float_option(
            name, options, "charge_radius_m", _DEFAULTS.charge_radius_m, minimum=20.0
        ),
        charge_weight=float_option(name, options, "charge_weight", _DEFAULTS.charge_weight),
        mpe_n_max=_mpe_n_max(name, options),
        charge_model_error=_at_most(
            name, options, "charge_model_error", _DEFAULTS.charge_model_error, maximum=5.0
        ),
        smear_ns_per_100m=_at_most(
            name, options, "smear_ns_per_100m", _DEFAULTS.smear_ns_per_100m, maximum=200.0
        ),
    )


def _at_most(name: str, options: Mapping[str, Any], key: str, default: float, *, maximum: float) -> float:
    """A number in [0, ``maximum``] (named when bad)."""
    value = float_option(name, options, key, default)
    if value > maximum:
        raise RecoOptionError(
            f"reco_options.{key} of {name!r}: expected a number <= {maximum:g}, got {value!r}"
        )
    return value


def _mpe_n_max(name: str, options: Mapping[str, Any]) -> float:
    """``mpe_n_max``: 0 (no cap, the default) or a cap >= 1 on the MPE's N."""
    value = float_option(name, options, "mpe_n_max", _DEFAULTS.mpe_n_max)
    if 0.0 < value < 1.0:
        raise RecoOptionError(
            f"reco_options.mpe_n_max of {name!r}: expected 0 (no cap) or a number >= 1, got {value!r}"
        )
    return value


def charge_doms(hit_table: FloatArray, geometry: Geometry) -> ChargeDoms:
    """Hit DOMs (rows string, om, t_first, charge) first, then every other non-DeepCore in-ice DOM."""
    strings = hit_table[:, 0].astype(np.int64)
    oms = hit_table[:, 1].astype(np.int64)
    hit_xyz, _ = geometry.positions(strings, oms)
    all_s, all_o = geometry.all_doms()
    keep = geometry.present[all_s, all_o] & ~np.isin(all_s, DEEPCORE_STRINGS)
    hit_keys = set(zip(strings.tolist(), oms.tolist(), strict=True))
    unhit = np.array(
        [
            k
            for k, (s, o) in enumerate(zip(all_s.tolist(), all_o.tolist(), strict=True))
            if keep[k] and (s, o) not in hit_keys
        ],
        dtype=np.int64,
    )
    xyz = np.concatenate([hit_xyz, geometry.xyz[all_s[unhit], all_o[unhit]]])
    rde = np.concatenate([geometry.efficiency(strings, oms), geometry.rde[all_s[unhit], all_o[unhit]]])
    charge = np.concatenate([hit_table[:, 3], np.zeros(unhit.size)])
    return ChargeDoms(
        np.ascontiguousarray(xyz), np.ascontiguousarray(rde), charge, hit_table[:, 2].copy(), len(hit_table)
    )


def mean_loss_energy(e_tot: float, point: FloatArray, u: FloatArray) -> float:
    """Energy (GeV) a muon of ``e_tot`` loses on average along its chord through the detector."""
    return (MUON_LOSS_A_GEV_PER_M + RADIATIVE_LOSS_PER_M * e_tot) * chord_length(point, u)


class TableMPEReco(Reco):
    name: ClassVar[str] = "table_mpe"
    kind: ClassVar[RecoKind] = "reconstruction"
    #: uncalibrated: Wilks' theorem for 2 dof (1.39 / 4.61)
    region_method: ClassVar[str] = "wilks"
    description: ClassVar[str] = (
        "per-pixel fit of the event's cleaned pulses with skyscan's photon tables: vertex and time fitted "
        "with MPE timing (jitter-convolved tabulated PDF) and Poisson charge, muon energy profiled"
    )

    def __init__(
        self,
        doms: ChargeDoms,
        settings: LikelihoodSettings,
        rotation: FloatArray,
        online_vertex: FloatArray | None,
        give_up: GiveUp | None = None,
    ) -> None:
        self.doms = doms
        self.give_up = give_up
        self.settings = settings
        self.rotation = rotation
        self.online_vertex = online_vertex
        self.likelihood = TableLikelihood(doms, settings)
        hit_q = doms.charge[: doms.n_hit]
        self.brightest = doms.xyz[int(np.argmax(hit_q))]

    @classmethod
    def prepare(cls, event: RealtimeEvent, options: Mapping[str, Any]) -> Setup:
        settings = settings_from_options(cls.name, options)
        give_up_dllh = float_option(cls.name, options, "give_up_dllh", DEFAULT_GIVE_UP_DLLH)
        frames = event_frames(event, cls.name)
        cleaned = clean(frames.split_pulses(), Geometry.load())
        pulses = cleaned.pulses
        first = pulses.dom_starts()[:-1]
        if first.size < 5:
            raise EventFormatError(
                f"value.data.frames: only {first.size} DOMs left after cleaning; {cls.name!r} needs at "
                "least 5"
            )
        charge = np.add.reduceat(pulses.charge.astype(np.float64), first)
        t_first = np.minimum.reduceat(pulses.time, first)
        table = np.column_stack([pulses.string[first], pulses.om[first], t_first, charge])
        seed = online_seed(frames)
        reference = reference_llh(
            seed,
            give_up_dllh,
            lambda vertex: cls(
                charge_doms(table.astype(np.float64), Geometry.load()), settings, np.eye(3), vertex
            ),
        )
        return {
            "doms": table.round(4).tolist(),
            "rotation": detector_rotation(event).tolist(),
            "online_vertex": None if seed is None else seed.vertex,
            "timing": "mpe" if settings.mpe else "spe",
            "jitter_ns": settings.jitter_ns,
            "noise_per_ns": settings.noise_per_ns,
            "noise_pe": settings.noise_pe,
            "saturation_pe": settings.saturation_pe,
            "charge_radius_m": settings.charge_radius_m,
            "charge_weight": settings.charge_weight,
            "mpe_n_max": settings.mpe_n_max,
            "charge_model_error": settings.charge_model_error,
            "smear_ns_per_100m": settings.smear_ns_per_100m,
            "reference_llh": reference,
            "give_up_dllh": give_up_dllh,
            "cleaned": {"npulses": cleaned.npulses, "nch": cleaned.nch, "qtot": round(cleaned.qtot, 3)},
        }

    @classmethod
    def from_setup(cls, setup: Mapping[str, Any]) -> TableMPEReco:
        table = np.asarray(setup["doms"], dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != 4 or table.shape[0] < 5:
            raise ValueError(f"table_mpe setup: doms must be an (N >= 5, 4) table, got shape {table.shape}")
        settings = LikelihoodSettings(
            mpe=setup["timing"] == "mpe",
            jitter_ns=float(setup["jitter_ns"]),
            noise_per_ns=float(setup["noise_per_ns"]),
            noise_pe=float(setup["noise_pe"]),
            saturation_pe=float(setup["saturation_pe"]),
            charge_radius_m=float(setup["charge_radius_m"]),
            charge_weight=float(setup["charge_weight"]),
            mpe_n_max=float(setup.get("mpe_n_max", 0.0)),
            charge_model_error=float(setup.get("charge_model_error", 0.0)),
            smear_ns_per_100m=float(setup.get("smear_ns_per_100m", 0.0)),
        )
        return cls(
            charge_doms(table, Geometry.load()),
            settings,
            np.asarray(setup["rotation"], dtype=np.float64),
            setup_online_vertex(setup),
            setup_give_up(setup),
        )

    def direction(self, ra: float, dec: float) -> FloatArray:
        """The muon's direction of travel (detector frame) for a pixel at J2000 (ra, dec) radians."""
        return travel_direction(self.rotation, ra, dec)

    def llh(self, u: FloatArray, params: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(-ln L, energy) of vertices ``params`` (K, 3) = (alpha, beta, t0) for direction ``u``."""
        e1, e2 = perpendicular_basis(u)
        points = self.likelihood.centre[None, :] + params[:, 0:1] * e1[None, :] + params[:, 1:2] * e2[None, :]
        return self.likelihood.evaluate(points, params[:, 2], u)

    def seeds(self, u: FloatArray, parent: FloatArray | None) -> FloatArray:
        """(alpha, beta, t0) seeds, as pandel_mpe's: charge centre, brightest DOM, online vertex (two time
        seeds each: quantiles of the hit DOMs' t_obs - t_direct) and the parent pixel's vertex."""
        e1, e2 = perpendicular_basis(u)
        centre = self.likelihood.centre
        points = [np.zeros(3), self.brightest - centre]
        if self.online_vertex is not None:
            points.append(self.online_vertex - centre)
        n_hit = self.doms.n_hit
        seeds: list[list[float]] = []
        for p in points:
            alpha, beta = float(p @ e1), float(p @ e2)
            geo = track_geometry(self.doms.xyz[:n_hit], centre + alpha * e1 + beta * e2, u)
            for t in np.quantile(self.doms.t_first - geo.t_direct, _TIME_QUANTILES):
                seeds.append([alpha, beta, float(t)])
        if parent is not None:
            seeds.append(parent_seed(parent, centre, u, e1, e2))
        return np.array(seeds)

    def fit_direction(
        self,
        u: FloatArray,
        parent: FloatArray | None = None,
        *,
        step: float = 12.0,
        min_step: float = 0.4,
        max_iterations: int = 60,
        keep: int = 3,
    ) -> tuple[PixelFit, int]:
        """The best vertex for direction ``u`` by the batched pattern search of pandel_mpe
        (:func:`~.track_llh.pattern_search`, the same step in every axis) from :meth:`seeds`, a far
        pixel stopping early when :attr:`give_up` says it is hopeless, and the number of likelihood
        evaluations."""
        best, _, evaluations = pattern_search(
            lambda params: self.llh(u, params)[0],
            self.seeds(u, parent),
            (step, step, step),
            min_step=min_step,
            max_iterations=max_iterations,
            keep=keep,
            give_up=self.give_up,
        )
        llh, energy = self.llh(u, best[None, :])
        e1, e2 = perpendicular_basis(u)
        point = self.likelihood.centre + best[0] * e1 + best[1] * e2
        e_tot = float(energy[0])
        fit = PixelFit(
            llh=float(llh[0]),
            E_in=mean_loss_energy(e_tot, point, u),
            E_tot=e_tot,
            X=float(point[0]),
            Y=float(point[1]),
            Z=float(point[2]),
            T=float(best[2]),
        )
        return fit, evaluations

    def fit(self, seed: PixelSeed) -> PixelFit:
        fit, _ = self.fit_direction(self.direction(seed.ra, seed.dec), parent_vertex(seed))
        return fit
