"""The photon Monte Carlo against physics it must reproduce (small photon counts: seconds each)."""

from __future__ import annotations

import numpy as np
import pytest

from skyscan.photonics import optics
from skyscan.photonics.ice import LayeredIce
from skyscan.photonics.kernels import (
    TALLY_ABSORBED,
    TALLY_ESCAPED,
    TALLY_PATH,
    TALLY_ROULETTE_ADDED,
    TALLY_ROULETTE_KILLED,
)
from skyscan.photonics.montecarlo import (
    Binning,
    LightHistogram,
    MonteCarloError,
    direct_light_pe,
    simulate_track_light,
    sphere_detection_pe,
)
from tests.tier import size

CLEAN = LayeredIce.homogeneous(25.0, 100.0, "clean")


def _median_residual(histogram: LightHistogram, i_rho: int) -> float:
    """Median arrival-time residual (ns) of the light in one rho bin (all cos eta), from the histogram."""
    per_t = histogram.pe[i_rho].sum(axis=0)
    cdf = np.cumsum(per_t) / per_t.sum()
    edges = histogram.binning.t_edges()
    k = int(np.searchsorted(cdf, 0.5))
    low = cdf[k - 1] if k > 0 else 0.0
    return float(edges[k] + (0.5 - low) / (cdf[k] - low) * (edges[k + 1] - edges[k]))


def test_without_scattering_the_light_is_the_analytic_cherenkov_cone() -> None:
    ice = LayeredIce.homogeneous(1e7, 80.0, "no scattering")
    histogram = simulate_track_light(ice, 2000.0, 40_000, seed=3)
    total, error = histogram.total()
    bins = histogram.binning
    rho_edges, cos_edges = bins.rho_edges(), bins.cos_edges()
    pulls = []
    for i_rho in range(2, 12):  # 2 m to 75 m
        rho = np.linspace(rho_edges[i_rho], rho_edges[i_rho + 1], 41)
        for i_cos in range(bins.n_cos):
            cos_eta = np.linspace(cos_edges[i_cos], cos_edges[i_cos + 1], 21)
            # the bin average: area-weighted in rho, uniform in cos eta
            values = direct_light_pe(rho[:, None], cos_eta[None, :], 80.0)
            expected = float((rho[:, None] * values).sum() / (rho.sum() * cos_eta.size))
            if expected < 1e-6:
                continue
            ratio = total[i_rho, i_cos] / expected
            pulls.append((ratio - 1.0) / np.hypot(error[i_rho, i_cos] / expected, 0.03))
    pulls_array = np.asarray(pulls)
    assert pulls_array.size > 50
    assert np.mean(pulls_array**2) < 2.0, pulls_array
    # unscattered light arrives at the direct time (dispersion only: a few ns)
    assert abs(_median_residual(histogram, 10)) < 5.0


def test_a_dom_next_to_the_track_sees_light_at_zero_residual_and_far_away_late() -> None:
    histogram = simulate_track_light(CLEAN, 2000.0, 20_000, seed=5)
    centres = histogram.binning.rho_centres()
    near = int(np.searchsorted(centres, 2.0))
    far = int(np.searchsorted(centres, 100.0))
    assert abs(_median_residual(histogram, near)) < 5.0
    assert _median_residual(histogram, far) > 50.0
    total, _ = histogram.total()
    assert total[near].sum() > 100.0 * total[far].sum()


def test_more_absorption_gives_fewer_photoelectrons() -> None:
    clear = simulate_track_light(CLEAN, 2000.0, 20_000, seed=7)
    murky = simulate_track_light(CLEAN.scaled(absorption=2.0), 2000.0, 20_000, seed=7)
    (t_clear, e_clear), (t_murky, e_murky) = clear.total(), murky.total()
    centres = clear.binning.rho_centres()
    for rho in (20.0, 50.0, 100.0):
        i = int(np.searchsorted(centres, rho))
        ratio = t_murky[i].sum() / t_clear[i].sum()
        sigma = np.hypot(e_clear[i].sum() / t_clear[i].sum(), e_murky[i].sum() / t_murky[i].sum())
        assert ratio + 3.0 * sigma < 1.0, (rho, ratio, sigma)


def test_photon_weight_is_conserved_and_the_mean_path_is_the_absorption_length() -> None:
    ice = LayeredIce.homogeneous(20.0, 60.0, "lossy")
    histogram = simulate_track_light(
        ice, 2000.0, 4000, seed=11, binning=Binning(t_max_ns=1e8), rho_stop_m=1e9
    )
    t = histogram.tallies
    emitted = 4000.0
    # nothing escapes: each photon's weight ends absorbed or removed by roulette (which gives as much back)
    assert t[TALLY_ESCAPED] == 0.0
    assert t[TALLY_ABSORBED] + t[TALLY_ROULETTE_KILLED] - t[TALLY_ROULETTE_ADDED] == pytest.approx(emitted)
    assert t[TALLY_ABSORBED] / emitted == pytest.approx(1.0, abs=0.05)
    # the absorption-weighted path length is 1/a(lambda) on average over the drawn wavelengths
    spectrum = optics.dom_weighted_spectrum()
    lam = spectrum.wavelength_nm
    own400 = 6954.0 * np.exp(-6618.0 / 400.0)
    a = (1.0 / 60.0 - own400) * (lam / 400.0) ** -1.084 + 6954.0 * np.exp(-6618.0 / lam)
    mean_path = float(np.trapezoid(np.gradient(spectrum.cdf, lam) / a, lam))
    assert t[TALLY_PATH] / emitted == pytest.approx(mean_path, rel=0.05)


def test_a_layer_boundary_between_identical_ice_changes_nothing_and_a_dusty_layer_dims_the_light() -> None:
    split = LayeredIce(
        "split", np.array([1990.0]), CLEAN.scattering_e_per_m.repeat(2), CLEAN.absorption_per_m.repeat(2)
    )
    dusty = LayeredIce(
        "dust 20 m below",
        np.array([2020.0, 2060.0]),
        np.array([1 / 25.0, 1 / 5.0, 1 / 25.0]),
        np.array([1 / 100.0, 1 / 15.0, 1 / 100.0]),
    )
    runs = {ice.name: simulate_track_light(ice, 2000.0, 20_000, seed=13) for ice in (CLEAN, split, dusty)}
    (t0, e0), (t1, e1), (t2, _) = (runs[name].total() for name in ("clean", "split", "dust 20 m below"))
    centres = runs["clean"].binning.rho_centres()
    sel = (centres > 10.0) & (centres < 150.0)
    pull = (t1[sel] - t0[sel]) / np.sqrt(e0[sel] ** 2 + e1[sel] ** 2 + (0.01 * t0[sel]) ** 2)
    assert np.mean(pull**2) < 2.5
    at_60 = int(np.searchsorted(centres, 60.0))
    assert t2[at_60].sum() < 0.8 * t0[at_60].sum()


def test_bad_parameters_are_refused_by_name() -> None:
    with pytest.raises(MonteCarloError, match="photons"):
        simulate_track_light(CLEAN, 2000.0, 5)
    with pytest.raises(MonteCarloError, match="mode"):
        simulate_track_light(CLEAN, 2000.0, 100, mode="laser")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        LayeredIce.homogeneous(-1.0, 100.0)


def test_dom_spheres_hit_by_the_photons_see_what_the_volume_estimator_expects() -> None:
    # explicit detection: DOM spheres (radius x 5, the usual oversizing) in a line parallel to the track,
    # 12 m apart (few photons meet two), at the centre of one of the histogram's distance bins
    volume = simulate_track_light(CLEAN, 2000.0, 40_000, seed=4)
    total, error = volume.total()
    i = 6
    rho = float(volume.binning.rho_centres()[i])
    # 400,000 photons: a 4% statistical error beside the 5% allowance (800,000 in the long tier)
    photons = size(400_000, 800_000)
    spheres, sphere_error = sphere_detection_pe(25.0, 100.0, [rho], photons, spacing_m=12.0, seed=3)
    expected, got = total[i].sum(), spheres[0].sum()
    sigma = np.sqrt((error[i] ** 2).sum() + (sphere_error[0] ** 2).sum() + (0.05 * expected) ** 2)
    assert abs(got - expected) < 3.0 * sigma, (got, expected, sigma)
    # light from below (the PMT's face, high cos eta) is seen better than light from above
    assert spheres[0, -3:].sum() > 1.5 * spheres[0, :3].sum()
