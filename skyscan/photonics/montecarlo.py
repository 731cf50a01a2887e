"""The photon Monte Carlo: light of an infinite muon track in the layered ice, histogrammed.

What is simulated (one call: one source depth, one emission mode):

- Emission. Photons start on a straight track of isotropic direction at t = 0, wavelength drawn from
  the Cherenkov spectrum x the DOM's effective area (:func:`skyscan.photonics.optics.dom_weighted_spectrum`,
  260-680 nm). ``bare``: at the Cherenkov angle acos(1 / n_p(lambda)) around the track. ``cascade``: the
  light of electromagnetic showers along the track: each photon's emitting step is turned away from
  the track by 1 - cos = (-ln(1 - u) / 2.61)^(1 / 0.39) (Raedel & Wiebusch 2013), then the photon leaves
  at the Cherenkov angle around that step. (For an infinite track the showers' longitudinal profile
  does not matter: the shower moves with the muon at c.)
- Propagation. Scattering lengths drawn layer by layer (a photon crossing a layer boundary goes on
  with the next layer's b(lambda)); the phase function 0.45 simplified-Liu + 0.55 Henyey-Greenstein,
  both g = 0.9; absorption as a weight exp(-integral a dl) with Russian roulette below 1e-3; time at
  the group velocity c / n_g(lambda). The ice is the table's, at depth = source depth - z.
- Detection: the expected photoelectrons of a DOM (sphere of radius 0.1651 m, cross-section area x
  wavelength efficiency x cable shadow 0.9 x angular acceptance P(cos eta) of the photon's actual
  direction) by volume binning, clsim's tabulator's estimator: a DOM at a point sees
  ``A_eff x (absorption-weighted photon path length per volume)``. Every photon segment is sampled
  at points <= ``record_step`` apart (random offset: unbiased).
- Geometry by symmetry. An infinite track in ice that varies only with depth is (nearly, see below)
  the same seen from every point along it, so the light of one metre of track reaching a DOM at
  perpendicular distance rho equals the light of a point emitter on the track integrated along a line
  parallel to the track: the path length in a tube (rho bin x all along-track positions) divided by the
  tube's cross-section. Track directions are isotropic and the DOM's azimuth around the track uniform,
  so the direct-light arrival direction is isotropic: cos eta (its z component, :mod:`optics`
  convention) is uniform on [-1, 1] and each cos-eta bin holds the fraction d(cos eta) / 2 of the tube.
- Time residual: photon time - the direct Cherenkov time at the recording point,
  ``t_dir = (s - rho cot theta_c) / c + rho n_g / (c sin theta_c)`` (s along the track, theta_c and n_g
  IceCube's 400 nm values 1.3195 and 1.35634), the muon at the emission point at t = 0.

Approximations (stated in the tables' provenance): the ice at a photon is looked up relative to its
emission point, so for an inclined track the table's depth is that of the emission (the evaluators take
the depth of the point on the track whose direct light reaches the DOM); tilt, anisotropy /
birefringence and hole ice are left out (hole ice only through the nominal angular acceptance);
tables average over the track directions and DOM azimuths that share one cos eta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt

from skyscan.photonics import kernels, optics
from skyscan.photonics.ice import MEAN_COS, SIMPLIFIED_LIU_FRACTION, LayeredIce

FloatArray = npt.NDArray[np.float64]
Mode = Literal["bare", "cascade"]
MODES: tuple[Mode, ...] = ("bare", "cascade")


class MonteCarloError(ValueError):
    """Parameters the Monte Carlo cannot run with."""


@dataclass(frozen=True)
class Binning:
    """Histogram axes: rho (quadratic edges to ``rho_max_m``), cos eta (uniform), residual (asinh)."""

    rho_max_m: float = 300.0
    n_rho: int = 24
    n_cos: int = 10
    t_min_ns: float = -30.0
    t_max_ns: float = 5000.0
    t_scale_ns: float = 5.0
    n_t: int = 60

    @property
    def w_lo(self) -> float:
        return math.asinh(self.t_min_ns / self.t_scale_ns)

    @property
    def w_hi(self) -> float:
        return math.asinh(self.t_max_ns / self.t_scale_ns)

    def rho_edges(self) -> FloatArray:
        out: FloatArray = self.rho_max_m * (np.arange(self.n_rho + 1) / self.n_rho) ** 2
        return out

    def rho_centres(self) -> FloatArray:
        """Midpoints: where a 1 / rho field (direct light near the track) equals its bin's area average."""
        e = self.rho_edges()
        out: FloatArray = 0.5 * (e[1:] + e[:-1])
        return out

    def cos_edges(self) -> FloatArray:
        return np.linspace(-1.0, 1.0, self.n_cos + 1)

    def cos_centres(self) -> FloatArray:
        e = self.cos_edges()
        out: FloatArray = 0.5 * (e[1:] + e[:-1])
        return out

    def w_edges(self) -> FloatArray:
        return np.linspace(self.w_lo, self.w_hi, self.n_t + 1)

    def t_edges(self) -> FloatArray:
        out: FloatArray = self.t_scale_ns * np.sinh(self.w_edges())
        return out

    def tube_areas(self) -> FloatArray:
        """(n_rho, n_cos): cross-section (m^2) of each (rho, cos eta) tube, the cos fraction included."""
        e = self.rho_edges()
        ring = np.pi * (e[1:] ** 2 - e[:-1] ** 2)
        out: FloatArray = ring[:, None] * (np.diff(self.cos_edges()) / 2.0)[None, :]
        return out


@dataclass(frozen=True)
class LightHistogram:
    """Expected photoelectrons of a DOM per (rho, cos eta, residual) bin, with batch-spread errors.

    ``pe[i_rho, i_cos, i_t]``: for ``bare``, photoelectrons from an infinite bare muon (no secondaries);
    for ``cascade``, photoelectrons per GeV/m of electromagnetic losses along the track. Photons arriving
    later than ``binning.t_max_ns`` are not counted.
    """

    mode: Mode
    source_depth_m: float
    ice_name: str
    photons: int
    seed: int
    binning: Binning
    pe: FloatArray
    pe_error: FloatArray
    tallies: FloatArray  # (N_TALLIES,) summed over batches, in photons

    def total(self) -> tuple[FloatArray, FloatArray]:
        """(n_rho, n_cos) photoelectrons summed over time, and their errors (from the batches' spread)."""
        return self._total, self._total_error

    @property
    def _total(self) -> FloatArray:
        out: FloatArray = self.pe.sum(axis=2)
        return out

    @property
    def _total_error(self) -> FloatArray:
        out: FloatArray = np.sqrt((self.pe_error**2).sum(axis=2))
        return out


def photons_per_unit(mode: Mode) -> float:
    """Photon weight units: DOM-weighted photons per metre (bare) or per GeV/m of losses (cascade)."""
    spectrum = optics.dom_weighted_spectrum()
    scale = optics.CASCADE_TRACK_M_PER_GEV if mode == "cascade" else 1.0
    return spectrum.pe_area_per_m * scale


def simulate_track_light(
    ice: LayeredIce,
    source_depth_m: float,
    photons: int,
    *,
    mode: Mode = "bare",
    seed: int = 1,
    source_index: int = 0,
    binning: Binning | None = None,
    batches: int = 16,
    record_step_m: float = 2.0,
    rho_stop_m: float | None = None,
    mean_cos: float = MEAN_COS,
    liu_fraction: float = SIMPLIFIED_LIU_FRACTION,
    threads: int | None = None,
) -> LightHistogram:
    """Run the kernel for ``photons`` photons from a track at ``source_depth_m`` and normalise the result.

    ``batches`` independent streams give the errors (spread of the batch estimates / sqrt(batches));
    ``rho_stop_m`` (default rho_max + 50 m) drops photons that far from the track; ``threads`` caps
    numba's threads for this call (default: all it has, NUMBA_NUM_THREADS).
    """
    bins = binning or Binning()
    if photons < batches or batches < 2:
        raise MonteCarloError(f"photons ({photons}) must be >= batches ({batches}) >= 2")
    if mode not in MODES:
        raise MonteCarloError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0.0 < mean_cos < 1.0 or not 0.0 <= liu_fraction <= 1.0:
        raise MonteCarloError(
            f"phase function needs 0 < g < 1, 0 <= f_SL <= 1; got {mean_cos}, {liu_fraction}"
        )
    if record_step_m <= 0.0:
        raise MonteCarloError(f"record_step_m must be > 0, got {record_step_m}")
    spectrum = optics.dom_weighted_spectrum()
    hist = np.zeros((batches, bins.n_rho, bins.n_cos, bins.n_t))
    tally = np.zeros((batches, kernels.N_TALLIES))
    previous = numba.get_num_threads()
    if threads is not None:
        cores = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(threads, cores)))
    try:
        kernels.propagate_track_light(
            photons,
            seed,
            source_index,
            kernels.MODE_CASCADE if mode == "cascade" else kernels.MODE_BARE_MUON,
            spectrum.wavelength_nm,
            spectrum.cdf,
            np.ascontiguousarray(ice.inner_edges, dtype=np.float64),
            np.ascontiguousarray(ice.scattering_e_per_m, dtype=np.float64),
            np.ascontiguousarray(ice.absorption_per_m, dtype=np.float64),
            float(source_depth_m),
            float(mean_cos),
            float(liu_fraction),
            np.asarray(optics.ANGULAR_ACCEPTANCE_COEFFICIENTS, dtype=np.float64),
            1.0 / optics.N_PHASE_REF,
            optics.N_GROUP_REF,
            bins.rho_max_m,
            bins.t_scale_ns,
            bins.w_lo,
            bins.w_hi,
            bins.rho_max_m + 50.0 if rho_stop_m is None else float(rho_stop_m),
            float(record_step_m),
            hist,
            tally,
        )
    finally:
        numba.set_num_threads(previous)
    per_batch = np.array([(photons * (b + 1)) // batches - (photons * b) // batches for b in range(batches)])
    unit = photons_per_unit(mode)
    estimates = hist * (unit / per_batch)[:, None, None, None] / bins.tube_areas()[None, :, :, None]
    pe = estimates.mean(axis=0)
    error = estimates.std(axis=0, ddof=1) / np.sqrt(batches)
    return LightHistogram(
        mode, float(source_depth_m), ice.name, photons, seed, bins, pe, error, tally.sum(axis=0)
    )


def sphere_detection_pe(
    scattering_length_m: float,
    absorption_length_m: float,
    rhos_m: npt.ArrayLike,
    photons: int,
    *,
    radius_m: float = 5.0 * optics.DOM_RADIUS_M,
    spacing_m: float = 2.0,
    n_cos: int = 10,
    seed: int = 1,
    batches: int = 16,
) -> tuple[FloatArray, FloatArray]:
    """Photoelectrons of a DOM by direct detection on spheres (homogeneous ice): (pe, error), (rho, cos).

    The check of the volume estimator: photons as in :func:`simulate_track_light` (bare muon light),
    detected where their flight meets a sphere of ``radius_m`` (default the DOM's radius x 5, the usual
    oversizing; the hit is divided by the sphere's cross-section pi R^2) in lines of spheres parallel to
    the track at each distance. A sphere hit counts ``A(lambda) x 0.9 x P(cos eta) / (pi R^2)``
    photoelectrons (A x 0.9 is in the photon weight), and a line of spheres ``spacing_m`` apart stands
    for one DOM seen from every point of the track: pe = unit x spacing / (pi R^2) x mean hit weight.
    """
    rhos = np.asarray(rhos_m, dtype=np.float64)
    if photons < batches or batches < 2:
        raise MonteCarloError(f"photons ({photons}) must be >= batches ({batches}) >= 2")
    if not 0.0 < 2.0 * radius_m < spacing_m:
        raise MonteCarloError(f"spheres of radius {radius_m} m must fit {spacing_m} m apart")
    spectrum = optics.dom_weighted_spectrum()
    hits = np.zeros((batches, rhos.size, 2 * n_cos))
    kernels.sphere_hits(
        photons,
        seed,
        spectrum.wavelength_nm,
        spectrum.cdf,
        1.0 / scattering_length_m,
        1.0 / absorption_length_m,
        MEAN_COS,
        SIMPLIFIED_LIU_FRACTION,
        np.asarray(optics.ANGULAR_ACCEPTANCE_COEFFICIENTS, dtype=np.float64),
        1.0 / optics.N_PHASE_REF,
        rhos,
        float(spacing_m),
        float(radius_m),
        float(rhos.max()) + 50.0,
        hits,
    )
    scale = photons_per_unit("bare") * spacing_m / (np.pi * radius_m**2)
    estimates = scale * hits[:, :, :n_cos] / np.maximum(hits[:, :, n_cos:], 1.0)
    pe: FloatArray = estimates.mean(axis=0)
    error: FloatArray = estimates.std(axis=0, ddof=1) / np.sqrt(batches)
    return pe, error


def direct_light_pe(rho_m: npt.ArrayLike, cos_eta: npt.ArrayLike, absorption_length_m: float) -> FloatArray:
    """The analytic no-scattering expectation for a bare muon: photoelectrons of a DOM at rho.

    Each metre of track sends its Cherenkov photons through a cylinder of radius rho at the angle
    theta_c: per unit area normal to their direction, ``dN / (2 pi rho sin theta_c)``; absorbed over
    ``rho / sin theta_c``; seen with the effective area x P(cos eta). Integrated over the DOM-weighted
    spectrum (theta_c and the absorption per wavelength, the ice's own term included).
    """
    rho = np.asarray(rho_m, dtype=np.float64)[..., None]
    spectrum = optics.dom_weighted_spectrum()
    lam = spectrum.wavelength_nm
    density = np.gradient(spectrum.cdf, lam) * spectrum.pe_area_per_m
    sin_c = np.sqrt(1.0 - optics.cherenkov_cos(lam) ** 2)
    own400 = 6954.0 * np.exp(-6618.0 / 400.0)
    a = max(1.0 / absorption_length_m - own400, 1e-6) * (lam / 400.0) ** -1.084 + 6954.0 * np.exp(
        -6618.0 / lam
    )
    integrand = density * np.exp(-a * rho / sin_c) / (2.0 * np.pi * rho * sin_c)
    out: FloatArray = np.trapezoid(integrand, lam, axis=-1) * optics.angular_acceptance(cos_eta)
    return out
