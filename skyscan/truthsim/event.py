"""One simulated event: a muon, its stochastic losses, its light tracked photon by photon, the DOMs' pulses.

The muon: direction isotropic (cos zenith uniform in [-1, 1]), passing at a distance uniform over a disc
of radius ``impact_m`` (400 m) from the detector's origin, at ``T0_NS`` (10 us into the 20 us readout)
at its closest approach; its energy ``track_length_m / 2`` (1 km) upstream of that point drawn from
E^-1 between ``energy_range_gev``; propagated over ``track_length_m`` (2 km) by
:func:`skyscan.truthsim.losses.propagate`. The ice: the shipped layered table with its scattering
and absorption coefficients each multiplied by an independent factor uniform in [0.9, 1.1] per event.
An event is kept when at least ``min_cleaned_doms`` (20) DOMs remain after the online cleaning (a
Bronze-like selection); otherwise a new muon is drawn (counted in ``tries``).

Event ``index`` of seed ``seed`` is reproducible from (seed, index) and the settings alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt

from skybase.i3 import writer
from skybase.i3.cleaning import CleanedPulses, clean
from skybase.i3.frame import parse_frame
from skybase.i3.geometry import Geometry
from skybase.i3.objects import decode_frame
from skybase.i3.pulses import PulseSeries
from skybase.json_types import JSONObject
from skyscan.photonics.ice import LayeredIce
from skyscan.truthsim import dom, light, losses

FloatArray = npt.NDArray[np.float64]

T0_NS = 10_000.0
C_M_PER_NS = 0.299792458


@dataclass(frozen=True)
class TruthSimSettings:
    energy_range_gev: tuple[float, float] = (1e4, 1e6)
    impact_m: float = 400.0
    track_length_m: float = 2000.0
    ice_variation: float = 0.10
    min_cleaned_doms: int = 20
    max_tries: int = 200
    detector_seed: int = 1
    losses: losses.LossSettings = field(default_factory=losses.LossSettings)
    light: light.LightSettings = field(default_factory=light.LightSettings)
    dom: dom.DomSettings = field(default_factory=dom.DomSettings)

    def as_record(self) -> JSONObject:
        return asdict(self)


@dataclass(frozen=True)
class Truth:
    """Where the muon comes FROM (detector zenith/azimuth), its energies, its closest point to the origin."""

    zenith: float
    azimuth: float
    energy_gev: float  # at the closest approach
    energy_start_gev: float  # 1 km upstream
    point: FloatArray
    time_ns: float
    scattering_scale: float
    absorption_scale: float
    n_losses: int
    largest_loss_gev: float
    deposited_in_detector_gev: float

    @property
    def direction(self) -> FloatArray:
        st = math.sin(self.zenith)
        return -np.array([st * math.cos(self.azimuth), st * math.sin(self.azimuth), math.cos(self.zenith)])

    def as_record(self) -> JSONObject:
        return {
            "zenith": self.zenith,
            "azimuth": self.azimuth,
            "energy_gev": self.energy_gev,
            "energy_start_gev": self.energy_start_gev,
            "point_m": [float(x) for x in self.point],
            "time_ns": self.time_ns,
            "ice_scattering_scale": self.scattering_scale,
            "ice_absorption_scale": self.absorption_scale,
            "stochastic_losses": self.n_losses,
            "largest_loss_gev": self.largest_loss_gev,
            "deposited_in_detector_gev": self.deposited_in_detector_gev,
        }


def superdst_roundtrip(pulses: PulseSeries) -> tuple[bytes, PulseSeries]:
    """The pulses as I3SuperDST bytes, and as a reader decodes them (charges on the 0.05 PE code)."""
    superdst = writer.superdst_bytes(pulses)
    frame = parse_frame(writer.frame_bytes("Q", {"I3SuperDST": ("I3SuperDST", superdst)}), "Q frame")
    decoded = decode_frame(frame, "Q frame").objects["I3SuperDST"]
    if not isinstance(decoded, PulseSeries):
        raise TypeError(f"I3SuperDST decoded as {type(decoded).__name__}, expected PulseSeries")
    return superdst, decoded


@dataclass(frozen=True)
class SimulatedPulses:
    """``pulses`` are the decoded ones (what a reader of the message sees); ``superdst`` their bytes."""

    truth: Truth
    superdst: bytes
    pulses: PulseSeries
    cleaned: CleanedPulses
    tries: int
    photons_tracked: int
    expected_pe: float


@dataclass(frozen=True)
class Detector:
    """What every event shares: geometry, the DOM layout for the photon kernel, DOM efficiencies, ice."""

    geometry: Geometry
    layout: light.DomLayout
    efficiency: FloatArray
    ice: LayeredIce

    @classmethod
    def load(cls, settings: TruthSimSettings) -> Detector:
        geometry = Geometry.load()
        layout = light.DomLayout.build(geometry, settings.light.collect_m)
        efficiency = dom.dom_efficiencies(layout.rde, settings.dom, settings.detector_seed)
        return cls(geometry, layout, efficiency, LayeredIce.shipped())


def _perpendicular_basis(u: FloatArray) -> tuple[FloatArray, FloatArray]:
    helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(u, e1)


def simulate_once(
    rng: np.random.Generator, detector: Detector, settings: TruthSimSettings
) -> tuple[Truth, PulseSeries, int, float]:
    """One muon, whatever it leaves: (truth, all pulses, photons tracked, expected photoelectrons)."""
    zenith = math.acos(rng.uniform(-1.0, 1.0))
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    st = math.sin(zenith)
    u = -np.array([st * math.cos(azimuth), st * math.sin(azimuth), math.cos(zenith)])
    e1, e2 = _perpendicular_basis(u)
    radius = settings.impact_m * math.sqrt(rng.uniform())
    phi = rng.uniform(0.0, 2.0 * math.pi)
    point = radius * (math.cos(phi) * e1 + math.sin(phi) * e2)
    lo, hi = settings.energy_range_gev
    e_start = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    half = 0.5 * settings.track_length_m
    track = losses.propagate(e_start, settings.track_length_m, rng, settings.losses)
    f_s = float(rng.uniform(1.0 - settings.ice_variation, 1.0 + settings.ice_variation))
    f_a = float(rng.uniform(1.0 - settings.ice_variation, 1.0 + settings.ice_variation))
    ice = detector.ice.scaled(f_s, f_a)
    start = point - half * u
    t_start = T0_NS - half / C_M_PER_NS
    box = detector.layout.expanded_box(0.0)
    sources = light.light_sources(
        track, start, u, t_start, detector.layout.expanded_box(settings.light.margin_m), settings.light, rng
    )
    hits = light.track_light(sources, ice, detector.layout, settings.light, int(rng.integers(2**31)))
    pe = dom.photoelectrons(
        hits.dom, hits.time_ns, hits.mean_pe, detector.efficiency, detector.layout.rde, settings.dom, rng
    )
    charge = dom.saturate(pe, settings.dom)
    pulses = dom.digitise(pe, charge, detector.layout.strings, detector.layout.oms, settings.dom, rng)
    inside = [
        loss.energy_gev
        for loss in track.losses
        if light.inside_box((start + loss.distance_m * u)[None, :], box)[0]
    ]
    truth = Truth(
        zenith=zenith,
        azimuth=azimuth,
        energy_gev=float(track.energy_at(half)[()]),
        energy_start_gev=e_start,
        point=point,
        time_ns=T0_NS,
        scattering_scale=f_s,
        absorption_scale=f_a,
        n_losses=len(track.losses),
        largest_loss_gev=float(max(inside, default=0.0)),
        deposited_in_detector_gev=float(sum(inside)),
    )
    return truth, pulses, hits.photons_tracked, float(hits.mean_pe.sum())


def simulate_pulses(
    seed: int, index: int, detector: Detector, settings: TruthSimSettings | None = None
) -> SimulatedPulses:
    """Event ``index`` of the seeded set ``seed``: muons until one passes the selection."""
    settings = settings or TruthSimSettings()
    rng = np.random.default_rng([seed, index])
    for tries in range(1, settings.max_tries + 1):
        truth, pulses, tracked, expected = simulate_once(rng, detector, settings)
        superdst, decoded = superdst_roundtrip(pulses)
        cleaned = clean(decoded, detector.geometry)
        if cleaned.nch >= settings.min_cleaned_doms:
            return SimulatedPulses(truth, superdst, decoded, cleaned, tries, tracked, expected)
    raise RuntimeError(
        f"seed {seed} index {index}: no muon of {settings.max_tries} passed the selection"
        f" (min_cleaned_doms {settings.min_cleaned_doms})"
    )
