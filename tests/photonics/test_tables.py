"""The smoothed tables reproduce an independent Monte Carlo and are normalised; the shipped ones hold up."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skyscan.cli import main
from skyscan.photonics.build import build_tables
from skyscan.photonics.ice import LayeredIce, ice_table_sha256
from skyscan.photonics.montecarlo import simulate_track_light
from skyscan.photonics.tables import PhotonTables, TablesError, track_geometry

CLEAN = LayeredIce.homogeneous(25.0, 100.0, "clean")


@pytest.fixture(scope="module")
def small_tables(tmp_path_factory: pytest.TempPathFactory) -> PhotonTables:
    tables = build_tables(20_000, depths_m=(1900.0, 2100.0), seed=21, ice=CLEAN)
    path = tmp_path_factory.mktemp("tables") / "small.npz"
    tables.save(path)
    return PhotonTables.load(path)  # through the file, as shipped (float32)


@pytest.fixture(scope="module")
def shipped() -> PhotonTables:
    return PhotonTables.load()


def test_the_table_matches_an_independent_monte_carlo_within_its_errors(small_tables: PhotonTables) -> None:
    # held out: a run with another seed at a depth between the table's two
    check = simulate_track_light(CLEAN, 2000.0, 20_000, seed=99)
    total, error = check.total()
    bins = check.binning
    rho, cos_eta = np.meshgrid(bins.rho_centres(), bins.cos_centres(), indexing="ij")
    table = small_tables.bare_pe(rho, np.arccos(cos_eta), 2000.0)
    good = (rho > 1.0) & (rho < 250.0) & (error < 0.2 * total)
    pull = (table[good] - total[good]) / np.hypot(error[good], 0.03 * total[good])
    assert good.sum() > 150
    assert np.mean(pull**2) < 3.0, np.sort(np.abs(pull))[-10:]
    # arrival times: the table's CDF against the held-out run's, at a few distances (all cos eta)
    t_edges = bins.t_edges()
    for rho_m in (5.0, 50.0, 120.0):
        i = int(np.searchsorted(bins.rho_centres(), rho_m))
        per_t = check.pe[i].sum(axis=0)
        mc_cdf = np.cumsum(per_t) / per_t.sum()
        weights = total[i] / total[i].sum()
        table_cdf = sum(
            w * small_tables.time_cdf(t_edges[1:], bins.rho_centres()[i], np.arccos(c), 2000.0)
            for w, c in zip(weights, bins.cos_centres(), strict=True)
        )
        assert np.max(np.abs(table_cdf - mc_cdf)) < 0.05, rho_m


def test_time_pdf_is_normalised_and_matches_the_cdf(small_tables: PhotonTables) -> None:
    t = 5.0 * np.sinh(np.linspace(np.arcsinh(-30.0 / 5.0), np.arcsinh(5000.0 / 5.0), 20001))
    for rho, angle in ((3.0, 0.3), (40.0, 1.5), (150.0, 2.8)):
        pdf = small_tables.time_pdf(t, rho, angle, 2050.0)
        assert np.trapezoid(pdf, t) == pytest.approx(1.0, abs=0.02)
        cdf = small_tables.time_cdf(t, rho, angle, 2050.0)
        assert np.all(np.diff(cdf) >= -1e-9)
        assert cdf[0] == pytest.approx(0.0, abs=1e-6) and cdf[-1] == pytest.approx(1.0, abs=1e-6)
    assert small_tables.time_pdf(-100.0, 10.0, 1.0, 2000.0) == 0.0


def test_evaluators_are_vectorised_and_energy_adds_loss_light(small_tables: PhotonTables) -> None:
    rng = np.random.default_rng(1)
    n = 500
    distance = rng.uniform(1.0, 300.0, n)
    angle = rng.uniform(0.0, np.pi, n)
    depth = rng.uniform(1400.0, 2500.0, n)
    low = small_tables.expected_pe(distance, angle, depth, 1e3)
    high = small_tables.expected_pe(distance, angle, depth, 1e5)
    assert low.shape == (n,) and np.all(low > 0.0) and np.all(high > low)
    assert small_tables.time_pdf(rng.uniform(0, 500, n), distance, angle, depth, energy=1e5).shape == (n,)
    assert small_tables.expected_pe(400.0, 1.0, 2000.0, 1e4) == 0.0


def test_track_geometry_of_a_dom_beside_a_vertical_track() -> None:
    down = np.array([0.0, 0.0, -1.0])
    geometry = track_geometry([[30.0, 0.0, 0.0]], [0.0, 0.0, 0.0], down)
    assert geometry.distance[0] == pytest.approx(30.0)
    # a down-going muon's Cherenkov light travels downwards: it reaches the PMT from above
    assert np.cos(geometry.angle[0]) == pytest.approx(-1.0 / 1.3195)
    # emitted 30 m x cot(theta_c) above the DOM's level, the muon there before it passed z = 0
    assert geometry.depth[0] == pytest.approx(1948.07 - 30.0 / np.tan(np.arccos(1 / 1.3195)))
    assert geometry.t_direct[0] < 30.0 * 1.35634 / 0.299792458


def test_the_shipped_tables_carry_their_provenance_and_physics(shipped: PhotonTables) -> None:
    p = shipped.provenance
    assert p["ice"]["file_sha256"] == ice_table_sha256()
    assert p["monte_carlo"]["photons_per_depth_and_component"] >= 20_000
    assert p["monte_carlo"]["seed"] > 0 and "tilt" in " ".join(p["left_out"])
    # light falls with distance; dust (2050 m) dims it against clean ice (2300 m) at 80 m
    assert shipped.bare_pe(10.0, 1.0, 2300.0) > 10.0 * shipped.bare_pe(100.0, 1.0, 2300.0)
    assert shipped.bare_pe(80.0, 1.0, 2050.0) < 0.5 * shipped.bare_pe(80.0, 1.0, 2300.0)
    # next to the track light is prompt; far away it is late, later in dusty ice
    assert shipped.time_cdf(5.0, 2.0, 1.0, 2300.0) > 0.5
    assert shipped.time_cdf(50.0, 80.0, 1.0, 2300.0) < shipped.time_cdf(50.0, 30.0, 1.0, 2300.0)
    # head-on light (PMT face) beats light from behind
    assert shipped.bare_pe(20.0, 0.2, 2300.0) > 2.0 * shipped.bare_pe(20.0, 2.9, 2300.0)


def test_tables_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tables", "info"]) == 0
    assert json.loads(capsys.readouterr().out)["ice"]["file_sha256"] == ice_table_sha256()
    with pytest.raises(SystemExit) as exit_info:
        main(["tables", "build", "--photons", "10"])
    assert exit_info.value.code == 2
    assert "at least 1000 photons" in capsys.readouterr().err
    assert main(["tables", "build", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    out = tmp_path / "t.npz"
    assert main(["tables", "build", "--photons", "2000", "--depth-step", "1000", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["depths"] == 2
    assert "[4/4]" in captured.err
    assert PhotonTables.load(out).depths_m.tolist() == [1450.0, 2450.0]
    with pytest.raises(TablesError, match="cannot read"):
        PhotonTables.load(tmp_path / "missing.npz")
