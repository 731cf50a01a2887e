"""``table_mpe``: the photon-table likelihood (MPE/SPE timing, Poisson charge) and its reco.

The small event here is simulated from the photon tables themselves (expected photoelectrons Poisson
sampled, arrival times drawn from the tables' CDF plus a Gaussian jitter): a SELF-CONSISTENCY test of
the likelihood and its fit, not a test of how well the tables describe IceCube's light.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from skybase.event import RealtimeEvent
from skybase.i3.geometry import DEEPCORE_STRINGS, Geometry
from skybase.sky import angular_distance_deg, detector_to_j2000
from skyscan.engine import ScanRequest, run_scan
from skyscan.photonics.tables import PhotonTables, track_geometry
from skyscan.recos import RecoOptionError, get_reco
from skyscan.recos.table_llh import LikelihoodSettings
from skyscan.recos.table_mpe import TableMPEReco, charge_doms
from skyscan.recos.track_llh import perpendicular_basis
from skyscan.workers import open_pool
from tests.skybase_i3.realdata import NEW_EVENT, message
from tests.skyscan_core.support import RecordingObserver, best_direction_deg

TRUE_VERTEX = np.array([30.0, -40.0, -60.0])
TRUE_T0 = 10_000.0
JITTER_NS = 4.0


def _direction(zenith_deg: float, azimuth_deg: float) -> np.ndarray:
    """The direction of travel of a muon coming from (zenith, azimuth)."""
    z, a = math.radians(zenith_deg), math.radians(azimuth_deg)
    return -np.array([math.sin(z) * math.cos(a), math.sin(z) * math.sin(a), math.cos(z)])


TRUE_U = _direction(70.0, 40.0)


def simulate(energy_gev: float, seed: int = 7) -> np.ndarray:
    """Hit DOMs (rows string, om, first time, charge) of a muon simulated from the tables."""
    rng = np.random.default_rng(seed)
    tables = PhotonTables.load()
    geometry = Geometry.load()
    strings, oms = geometry.all_doms()
    keep = geometry.present[strings, oms] & ~np.isin(strings, DEEPCORE_STRINGS)
    strings, oms = strings[keep], oms[keep]
    xyz = geometry.xyz[strings, oms]
    geo = track_geometry(xyz, TRUE_VERTEX, TRUE_U)
    mu = tables.expected_pe(geo.distance, geo.angle, geo.depth, energy_gev) * geometry.rde[strings, oms]
    n = rng.poisson(mu)
    hit = np.flatnonzero(n > 0)
    grid = 5.0 * np.sinh(np.linspace(np.arcsinh(-6.0), np.arcsinh(1000.0), 3000))
    rows = []
    for i in hit:
        cdf = tables.time_cdf(grid, geo.distance[i], geo.angle[i], geo.depth[i], energy_gev)
        draws = np.interp(rng.uniform(cdf[0], cdf[-1], size=min(int(n[i]), 400)), cdf, grid)
        first = float(np.min(draws + rng.normal(0.0, JITTER_NS, size=draws.size)))
        rows.append([strings[i], oms[i], TRUE_T0 + geo.t_direct[i] + first, float(n[i])])
    return np.array(rows, dtype=np.float64)


def _reco(rows: np.ndarray, **changes: object) -> TableMPEReco:
    settings = LikelihoodSettings(jitter_ns=JITTER_NS, **changes)  # type: ignore[arg-type]
    return TableMPEReco(charge_doms(rows, Geometry.load()), settings, np.eye(3), None)


def _tilted(u: np.ndarray, degrees: float, towards: int) -> np.ndarray:
    e1, e2 = perpendicular_basis(u)
    side = (e1, e2, -e1, -e2)[towards]
    out = math.cos(math.radians(degrees)) * u + math.sin(math.radians(degrees)) * side
    return out / np.linalg.norm(out)


def _true_params(reco: TableMPEReco) -> np.ndarray:
    e1, e2 = perpendicular_basis(TRUE_U)
    offset = TRUE_VERTEX - reco.likelihood.centre
    along = float(offset @ TRUE_U)
    return np.array([[offset @ e1, offset @ e2, TRUE_T0 - along / 0.299792458]])


@pytest.fixture(scope="module")
def event_rows() -> np.ndarray:
    return simulate(30_000.0)


def test_the_likelihood_prefers_the_true_track_of_an_event_simulated_from_the_tables(
    event_rows: np.ndarray,
) -> None:
    assert len(event_rows) >= 30  # a bright enough event to localise
    reco = _reco(event_rows)
    at_truth, _ = reco.fit_direction(TRUE_U)
    for towards in range(4):
        away, _ = reco.fit_direction(_tilted(TRUE_U, 3.0, towards))
        assert away.llh > at_truth.llh + 5.0
    # the fitted vertex lies on the true track, within metres
    fitted = np.array([at_truth.X, at_truth.Y, at_truth.Z])
    offset = fitted - TRUE_VERTEX
    assert np.linalg.norm(offset - (offset @ TRUE_U) * TRUE_U) < 15.0
    # the profiled energy is that of the simulation within a factor 2
    assert 15_000.0 < at_truth.E_tot < 60_000.0


def test_mpe_describes_first_hits_better_than_spe(event_rows: np.ndarray) -> None:
    """Both are densities of the first pulse's time; at the true track the first-photon one (MPE) must
    give the simulated first hits, the first of N photons, a higher likelihood than SPE's."""
    mpe = _reco(event_rows, charge_weight=0.0)
    spe = _reco(event_rows, charge_weight=0.0, mpe=False)
    params = _true_params(mpe)
    llh_mpe, _ = mpe.llh(TRUE_U, params)
    llh_spe, _ = spe.llh(TRUE_U, params)
    assert llh_mpe[0] < llh_spe[0] - 20.0
    # and SPE, fitted, also prefers the truth to 3 degrees away (a different, weaker model, not a broken one)
    at_truth, _ = spe.fit_direction(TRUE_U)
    away, _ = spe.fit_direction(_tilted(TRUE_U, 3.0, 0))
    assert away.llh > at_truth.llh


def test_the_charge_term_follows_the_energy() -> None:
    tables = PhotonTables.load()
    energies = np.geomspace(1e3, 1e7, 9)
    # the expected photoelectrons of a DOM grow with the muon's energy
    mu = tables.expected_pe(40.0, 1.0, 2100.0, energies)
    assert np.all(np.diff(mu) > 0)
    # and the profiled energy grows with the simulated one
    fitted = []
    for energy in (3e3, 3e4, 3e5):
        reco = _reco(simulate(energy, seed=11))
        _, profiled = reco.llh(TRUE_U, _true_params(reco))
        fitted.append(float(profiled[0]))
    assert fitted[0] < fitted[1] < fitted[2]
    assert 1e4 < fitted[1] < 1e5


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"timing": "both"}, "reco_options.timing of 'table_mpe'"),
        ({"jitter_ns": 0.1}, "reco_options.jitter_ns of 'table_mpe'"),
        ({"charge_radius_m": "far"}, "reco_options.charge_radius_m of 'table_mpe'"),
        ({"pandel": True}, "not understood by 'table_mpe'"),
        ({"mpe_n_max": 0.5}, "reco_options.mpe_n_max of 'table_mpe': expected 0 \\(no cap\\)"),
        ({"mpe_n_max": -1}, "reco_options.mpe_n_max of 'table_mpe'"),
        (
            {"charge_model_error": 6.0},
            "reco_options.charge_model_error of 'table_mpe': expected a number <= 5",
        ),
        ({"charge_model_error": -0.1}, "reco_options.charge_model_error of 'table_mpe'"),
        ({"smear_ns_per_100m": 500}, "reco_options.smear_ns_per_100m of 'table_mpe'"),
        ({"smear_ns_per_100m": True}, "reco_options.smear_ns_per_100m of 'table_mpe'"),
    ],
)
def test_bad_options_are_named(options: dict[str, object], expected: str) -> None:
    event = RealtimeEvent.read(message(NEW_EVENT))
    with pytest.raises(RecoOptionError, match=expected):
        get_reco("table_mpe").prepare(event, options)


def test_a_low_nside_scan_of_a_real_event_runs_through_the_engine() -> None:
    msg = message(NEW_EVENT)
    event = RealtimeEvent.read(msg)
    setup = get_reco("table_mpe").prepare(event, {})
    data = msg["value"]["data"]
    assert setup["cleaned"]["nch"] == data["nch"] == len(setup["doms"])
    assert len(json.dumps(setup)) < 20_000  # it travels with every pixel task
    online = event.require_online()
    ra0, dec0 = detector_to_j2000(online.zen, online.azi, event.event_time)
    # at nside 2 every pixel is far from the light: no pixel may give up its vertex search there; the
    # refinement to nside 8 around the best one (2 nside-2 pixels: their 32 or more children) is what
    # lands near the online fit. One pixel worker: each builds the likelihood's jittered tables anew.
    request = ScanRequest(
        "tablempe0dx0123456789abcdef01234",
        msg,
        "table_mpe",
        ((2, 0), (8, 2)),
        reco_options={"give_up_dllh": 0},
    )
    with open_pool("inprocess", workers=1) as pool:
        result = run_scan(request, RecordingObserver(), pool=pool)
    assert len(result["nside-2"]["data"]) == 48
    assert len(result["nside-8"]["data"]) >= 32
    metadata = result["nside-8"]["metadata"]
    assert metadata["reco_algo"] == "table_mpe"
    assert metadata["region_method"] == "wilks"
    assert metadata["reco_kind"] == "reconstruction"
    ra, dec = best_direction_deg(result)
    print("best nside-8 pixel from the online direction (deg):", angular_distance_deg(ra, dec, ra0, dec0))
    assert angular_distance_deg(ra, dec, ra0, dec0) < 8.0  # an nside-8 pixel is 7.3 deg across
    rows = result["nside-8"]["data"]
    assert all(math.isfinite(row[1]) for row in rows)


def _sharpness(reco: TableMPEReco) -> float:
    """-ln L 3 degrees away (mean of the four sides, each at the true vertex) minus at the true track."""
    params = _true_params(reco)
    at_truth, _ = reco.llh(TRUE_U, params)
    away = [reco.llh(_tilted(TRUE_U, 3.0, towards), params)[0][0] for towards in range(4)]
    return float(np.mean(away) - at_truth[0])


def test_a_charge_model_error_softens_the_charge_term(event_rows: np.ndarray) -> None:
    """A per-DOM fractional model error (negative binomial) makes a given mismatch of charge cost less:
    the truth stays preferred, by less; 0 is the Poisson term exactly."""
    poisson = _sharpness(_reco(event_rows, charge_weight=1.0))
    assert _sharpness(_reco(event_rows, charge_model_error=0.0)) == pytest.approx(poisson)
    softened = [_sharpness(_reco(event_rows, charge_model_error=f)) for f in (0.2, 0.5)]
    assert 0.0 < softened[1] < softened[0] < poisson


def test_an_mpe_cap_and_a_distance_smearing_soften_the_timing_term(event_rows: np.ndarray) -> None:
    """Capping the MPE's N, or smearing times more with distance, makes the first hits pin the track less."""
    timing_only = _sharpness(_reco(event_rows, charge_weight=0.0))
    capped = _sharpness(_reco(event_rows, charge_weight=0.0, mpe_n_max=2.0))
    smeared = _sharpness(_reco(event_rows, charge_weight=0.0, smear_ns_per_100m=30.0))
    assert 0.0 < capped < timing_only
    assert 0.0 < smeared < timing_only
    # the options travel through the setup a worker rebuilds the reco from
    event = RealtimeEvent.read(message(NEW_EVENT))
    cls = get_reco("table_mpe")
    options = {"mpe_n_max": 5, "charge_model_error": 0.3, "smear_ns_per_100m": 20, "give_up_dllh": 0}
    reco = cls.from_setup(json.loads(json.dumps(cls.prepare(event, options))))
    assert isinstance(reco, TableMPEReco)
    assert (reco.settings.mpe_n_max, reco.settings.charge_model_error, reco.settings.smear_ns_per_100m) == (
        5.0,
        0.3,
        20.0,
    )
    assert float(reco.likelihood.npe.max()) == 5.0
