"""Build the photon tables: the Monte Carlo per depth and light component, smoothed, with provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import scipy

from skyscan.photonics import optics
from skyscan.photonics.ice import (
    ICE_TABLE_RESOURCE,
    MEAN_COS,
    SIMPLIFIED_LIU_FRACTION,
    LayeredIce,
    ice_table_sha256,
)
from skyscan.photonics.kernels import TALLY_ABSORBED, TALLY_ESCAPED, TALLY_PATH, TALLY_ROULETTE_KILLED
from skyscan.photonics.montecarlo import MODES, Binning, simulate_track_light
from skyscan.photonics.smoothing import N_FINE_T, fine_w_grid, smooth
from skyscan.photonics.tables import COMPONENTS, PhotonTables

FloatArray = npt.NDArray[np.float64]

FORMAT_VERSION = 1
DEFAULT_PHOTONS = 100_000
DEFAULT_SEED = 20261207
DEFAULT_DEPTHS_M = tuple(float(d) for d in np.arange(1450.0, 2451.0, 50.0))
LEFT_OUT = (
    "tilt of the ice layers (depths are the same across the detector)",
    "anisotropy / birefringence of the ice (scattering and absorption are isotropic)",
    "hole ice (only through the nominal angular acceptance as.nominal)",
    "the ice's temperature term's depth dependence (delta-tau = 0)",
    "the muon's stochastic losses as discrete showers (losses are spread evenly along the track)",
    "hadronic showers (the loss light is electromagnetic)",
    "PMT jitter, saturation, afterpulses, noise (the likelihood adds jitter and noise)",
    "photons arriving more than 5 us after the direct time",
    "for inclined tracks, the ice is taken relative to the emission point (see montecarlo.py)",
)


def source_digest() -> str:
    """SHA-256 over the photonics modules' source: which code made a table."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_tables(
    photons: int = DEFAULT_PHOTONS,
    *,
    depths_m: Sequence[float] = DEFAULT_DEPTHS_M,
    seed: int = DEFAULT_SEED,
    ice: LayeredIce | None = None,
    binning: Binning | None = None,
    threads: int | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> PhotonTables:
    """Simulate ``photons`` photons per depth and light component, smooth, and return the tables."""
    medium = ice or LayeredIce.shipped()
    bins = binning or Binning()
    depths = np.asarray(sorted(float(d) for d in depths_m))
    started = time.monotonic()
    log_rho_pe = np.zeros((2, depths.size, bins.n_cos, bins.n_rho))
    log_pdf = np.zeros((2, depths.size, bins.n_cos, bins.n_rho, N_FINE_T))
    borrowed = 0
    tallies = np.zeros(5)
    steps = 2 * depths.size
    done = 0
    for k, mode in enumerate(MODES):
        for i, depth in enumerate(depths):
            step_started = time.monotonic()
            histogram = simulate_track_light(
                medium,
                depth,
                photons,
                mode=mode,
                seed=seed,
                source_index=k * 10_000 + i,
                binning=bins,
                threads=threads,
            )
            cells = smooth(histogram)
            log_rho_pe[k, i] = cells.log_rho_pe
            log_pdf[k, i] = cells.log_pdf
            borrowed += cells.borrowed_time_cells
            tallies += histogram.tallies
            done += 1
            elapsed = time.monotonic() - started
            scattering, absorption = medium.lengths_at(depth)
            progress(
                f"[{done}/{steps}] {mode:7s} depth {depth:7.1f} m (b_e {float(scattering):5.1f} m,"
                f" a {float(absorption):5.1f} m): {time.monotonic() - step_started:5.1f} s;"
                f" elapsed {elapsed:6.1f} s, left ~{elapsed / done * (steps - done):6.1f} s"
            )
    run_time = time.monotonic() - started
    provenance = _provenance(medium, bins, depths, photons, seed, borrowed, tallies, run_time, threads)
    return PhotonTables(
        depths,
        bins.cos_centres(),
        bins.rho_centres(),
        fine_w_grid(bins.w_lo, bins.w_hi),
        bins.t_scale_ns,
        log_rho_pe,
        log_pdf,
        provenance,
    )


def _provenance(
    ice: LayeredIce,
    bins: Binning,
    depths: FloatArray,
    photons: int,
    seed: int,
    borrowed: int,
    tallies: FloatArray,
    run_time_s: float,
    threads: int | None,
) -> dict[str, Any]:
    spectrum = optics.dom_weighted_spectrum()
    scattering, absorption = ice.lengths_at(depths)
    emitted = photons * depths.size * len(MODES)
    return {
        "format_version": FORMAT_VERSION,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "code": {
            "skymist_version": metadata.version("skymist"),
            "photonics_source_sha256": source_digest(),
            "numba": numba.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "python": platform.python_version(),
        },
        "ice": {
            "name": ice.name,
            "file": "/".join(ICE_TABLE_RESOURCE),
            "file_sha256": ice_table_sha256() if ice.name == "layered" else None,
            "origin": "GraphNeT data/ice_properties/ice_transparency.parquet "
            "(commit a1ee6217819f76f3ef26b3ca5430c58b9ba8f28a, Apache-2.0)",
            "wavelength_scaling": "b_e ~ (l/400)^-0.898; a = a_dust(400) (l/400)^-1.084 + 6954 exp(-6618/l)",
            "phase_function": f"{SIMPLIFIED_LIU_FRACTION} simplified Liu + {1 - SIMPLIFIED_LIU_FRACTION:.2f}"
            f" Henyey-Greenstein, g = {MEAN_COS}",
            "at_table_depths": {
                "effective_scattering_length_m": [round(float(v), 2) for v in scattering],
                "absorption_length_m": [round(float(v), 2) for v in absorption],
            },
        },
        "light": {
            "components": list(COMPONENTS),
            "bare": "Cherenkov light of the bare muon (Frank-Tamm, n_p(lambda)); x secondaries factor",
            "cascade": "electromagnetic showers: 5.25 m track-equivalent light per GeV, RW13 angular profile",
            "dom_weighted_pe_area_per_m_m2": spectrum.pe_area_per_m,
            "cherenkov_photons_per_m_260_680nm": spectrum.photons_per_m,
        },
        "dom": {
            "radius_m": optics.DOM_RADIUS_M,
            "effective_area": "photonics/clsim ROMEO table (head-on, 260-680 nm), x 0.9 unshadowed",
            "angular_acceptance": "as.nominal polynomial in cos eta",
        },
        "monte_carlo": {
            "photons_per_depth_and_component": photons,
            "photons_total": emitted,
            "seed": seed,
            "batches": 16,
            "record_step_m": 2.0,
            "depths_m": [float(d) for d in depths],
            "binning": {
                "rho_max_m": bins.rho_max_m,
                "n_rho": bins.n_rho,
                "n_cos": bins.n_cos,
                "t_min_ns": bins.t_min_ns,
                "t_max_ns": bins.t_max_ns,
                "t_scale_ns": bins.t_scale_ns,
                "n_t": bins.n_t,
            },
            "weight_fractions": {
                "absorbed": float(tallies[TALLY_ABSORBED] / emitted),
                "escaped_distance_or_time": float(tallies[TALLY_ESCAPED] / emitted),
                "roulette_killed": float(tallies[TALLY_ROULETTE_KILLED] / emitted),
            },
            "mean_weighted_path_m": float(tallies[TALLY_PATH] / emitted),
            "run_time_s": round(run_time_s, 1),
            "threads": threads or numba.get_num_threads(),
            "machine": platform.machine(),
        },
        "smoothing": {
            "pe": "LSQBivariateSpline of log(rho PE) over (sqrt rho, cos eta), cubic, 6 x 2 interior knots",
            "time": "LSQUnivariateSpline (cubic, knots at the cell's residual quantiles) of log density in"
            " asinh(t / 5 ns), normalised; CDF integrated",
            "borrowed_time_cells": borrowed,
        },
        "left_out": list(LEFT_OUT),
    }
