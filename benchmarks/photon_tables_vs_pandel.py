"""The photon tables against the facts sheet, skyscan's Pandel PDF and the real events' first hits (JSON).

    python benchmarks/photon_tables_vs_pandel.py [--tables PATH] [--samples 4000]

1. Arrival-time residuals (bare muon light, no jitter) at 25-250 m in clean (2300 m) and dusty (2050 m)
   ice: the table's 10/50/90% quantiles beside Pandel's (``pandel_mpe``'s model: Gamma with
   a = d_eff / 33.3 m, b = 1/557 ns + c_ice / lambda_a; bulk lambda_a = 98 m, and the layered scaling
   ``pandel_mpe`` uses), and the largest CDF difference (Kolmogorov distance). Both are mixed over the
   arrival angle with the table's expected photoelectrons as weights (isotropic tracks).
2. Expected photoelectrons near the track against the analytic no-scattering Cherenkov cone.
3. The median first-hit residual of DOMs at 50-100 m from a muon of 10 and 100 TeV (DOMs at random
   positions: distance weighted by area, angle isotropic, depth 1450-2450 m; N photoelectrons Poisson
   with the table's mean, N >= 1; the first of N arrival times, + 2 ns jitter), by the table's PDF and by
   Pandel's with the same N: the issue's real events show 72-199 ns, skyscan's simulation 250-270 ns.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skybase.i3.geometry import IceTable  # noqa: E402
from skyscan.photonics.ice import LayeredIce  # noqa: E402
from skyscan.photonics.montecarlo import direct_light_pe  # noqa: E402
from skyscan.photonics.tables import PhotonTables  # noqa: E402
from skyscan.recos.pandel import PANDEL_LAMBDA_M  # noqa: E402
from skyscan.recos.pandel_mpe import reference_ice  # noqa: E402
from skyscan.recos.track_llh import ice_scaled  # noqa: E402

REGIMES = {"clean": 2300.0, "dusty": 2050.0}
DISTANCES = (25.0, 50.0, 75.0, 100.0, 150.0, 250.0)
#: d_eff = 3.1 - 3.9 cos eta + 4.6 cos^2 eta + 0.84 d (Ahrens et al. 2004, eq. 7; as skyscan's track_llh)
DEFF = (3.1, -3.9, 4.6, 0.84)
SIN_C = float(np.sqrt(1.0 - (1.0 / 1.3195) ** 2))
N_ANGLES = 24


def _t_grid() -> np.ndarray:
    return 5.0 * np.sinh(np.linspace(np.arcsinh(-30.0 / 5.0), np.arcsinh(5000.0 / 5.0), 4001))


def _pandel_cdf(t: np.ndarray, rho: float, cos_eta: np.ndarray, b: float) -> np.ndarray:
    d = rho / SIN_C
    d_eff = DEFF[0] + cos_eta * (DEFF[1] + DEFF[2] * cos_eta) + DEFF[3] * d
    a = d_eff / PANDEL_LAMBDA_M
    out: np.ndarray = special.gammainc(a[:, None], b * np.maximum(t, 0.0)[None, :])
    return out


def _quantiles(t: np.ndarray, cdf: np.ndarray) -> dict[str, float]:
    return {f"q{int(q * 100)}_ns": round(float(np.interp(q, cdf, t)), 1) for q in (0.1, 0.5, 0.9)}


def _pandel_b(depth: float) -> tuple[float, float]:
    """(bulk b, layered b) per ns, as pandel_mpe computes them."""
    ice = IceTable.load()
    ones = np.ones(1)
    _, bulk = ice_scaled(ones, ones, 1.0, 1.0)
    _, absorption = LayeredIce.shipped().lengths_at(depth)
    _, layered = ice_scaled(ones, np.atleast_1d(absorption), *reference_ice(ice))
    return float(bulk[0]), float(layered[0])


def arrival_times(tables: PhotonTables) -> dict[str, Any]:
    t = _t_grid()
    cos_eta = np.linspace(-1.0, 1.0, N_ANGLES + 1)
    cos_eta = 0.5 * (cos_eta[1:] + cos_eta[:-1])
    angle = np.arccos(cos_eta)
    out: dict[str, Any] = {}
    for regime, depth in REGIMES.items():
        b_bulk, b_layered = _pandel_b(depth)
        scattering, absorption = LayeredIce.shipped().lengths_at(depth)
        rows: dict[str, Any] = {
            "depth_m": depth,
            "effective_scattering_m": round(float(scattering), 1),
            "absorption_m": round(float(absorption), 1),
        }
        for rho in DISTANCES:
            weights = tables.bare_pe(rho, angle, depth)
            weights = weights / weights.sum()
            table_cdf = (weights[:, None] * tables.time_cdf(t[None, :], rho, angle[:, None], depth)).sum(
                axis=0
            )
            bulk = (weights[:, None] * _pandel_cdf(t, rho, cos_eta, b_bulk)).sum(axis=0)
            layered = (weights[:, None] * _pandel_cdf(t, rho, cos_eta, b_layered)).sum(axis=0)
            rows[f"{rho:g}m"] = {
                "table": _quantiles(t, table_cdf),
                "pandel_bulk": _quantiles(t, bulk),
                "pandel_layered": _quantiles(t, layered),
                "ks_table_vs_pandel_bulk": round(float(np.max(np.abs(table_cdf - bulk))), 3),
                "ks_table_vs_pandel_layered": round(float(np.max(np.abs(table_cdf - layered))), 3),
            }
        out[regime] = rows
    return out


def near_track(tables: PhotonTables) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for regime, depth in REGIMES.items():
        _, absorption = LayeredIce.shipped().lengths_at(depth)
        rows = {}
        for rho in (1.0, 3.0, 10.0, 30.0):
            table = float(tables.bare_pe(rho, 0.7, depth))
            direct = float(direct_light_pe(rho, np.cos(0.7), float(absorption)))
            rows[f"{rho:g}m"] = {"table_pe": round(table, 4), "no_scattering_pe": round(direct, 4)}
        out[regime] = rows
    return out


def first_hits(tables: PhotonTables, samples: int) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    t = _t_grid()
    rho = np.sqrt(rng.uniform(50.0**2, 100.0**2, samples))
    cos_eta = rng.uniform(-1.0, 1.0, samples)
    depth = rng.uniform(1450.0, 2450.0, samples)
    ice = IceTable.load()
    _, absorption = LayeredIce.shipped().lengths_at(depth)
    ones = np.ones(samples)
    _, b_layered = ice_scaled(ones, absorption, *reference_ice(ice))
    out: dict[str, Any] = {"real_events_issue_22_ns": [72, 199], "skyscan_simulation_issue_22_ns": [250, 270]}
    for energy in (1e4, 1e5):
        mu = tables.expected_pe(rho, np.arccos(cos_eta), depth, energy)
        n = rng.poisson(mu)
        while np.any(n == 0):  # condition on a hit
            zero = n == 0
            n[zero] = rng.poisson(mu[zero])
            mu_small = mu[zero] < 1e-3
            n[np.flatnonzero(zero)[mu_small]] = 1
        u = rng.uniform(size=samples)
        # first of N: CDF_1 = 1 - (1 - F)^N; draw F = 1 - (1 - u)^(1/N) and invert each DOM's CDF
        target = 1.0 - (1.0 - u) ** (1.0 / n)
        table_t = np.empty(samples)
        pandel_t = np.empty(samples)
        for i in range(samples):
            cdf = tables.time_cdf(t, rho[i], np.arccos(cos_eta[i]), depth[i])
            table_t[i] = np.interp(target[i], cdf, t)
            pcdf = _pandel_cdf(t, float(rho[i]), np.array([cos_eta[i]]), float(b_layered[i]))[0]
            pandel_t[i] = np.interp(target[i], pcdf, t)
        jitter = rng.normal(0.0, 2.0, samples)
        out[f"{energy:g}_GeV"] = {
            "median_pe_per_hit_dom": float(np.median(n)),
            "table_median_first_hit_ns": round(float(np.median(table_t + jitter)), 1),
            "pandel_layered_median_first_hit_ns": round(float(np.median(pandel_t + jitter)), 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", type=Path, default=None)
    parser.add_argument("--samples", type=int, default=4000)
    args = parser.parse_args()
    tables = PhotonTables.load(args.tables)
    print(
        json.dumps(
            {
                "tables": tables.provenance["monte_carlo"]["photons_per_depth_and_component"],
                "arrival_times": arrival_times(tables),
                "near_track": near_track(tables),
                "first_hit_50_100m": first_hits(tables, args.samples),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
