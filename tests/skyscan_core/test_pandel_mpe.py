"""``pandel_mpe``: the per-pixel MPE Pandel fit of the pulses decoded from a real message's frames."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from skybase.event import EventFormatError, RealtimeEvent
from skybase.sky import angular_distance_deg, detector_to_j2000
from skyscan.engine import ScanRequest, run_scan
from skyscan.recos import RecoOptionError, get_reco
from skyscan.recos.base import PixelSeed
from skyscan.recos.pandel_mpe import PandelMPEReco
from skyscan.recos.track_llh import GiveUp
from skyscan.workers import open_pool
from tests.skybase_i3.realdata import EVENTS, NEW_EVENT, message
from tests.skyscan_core.support import RecordingObserver, best_direction_deg


def _reco(name: str, **options: object) -> tuple[PandelMPEReco, RealtimeEvent]:
    event = RealtimeEvent.read(message(name))
    reco = get_reco("pandel_mpe")
    built = reco.from_setup(json.loads(json.dumps(reco.prepare(event, options))))
    assert isinstance(built, PandelMPEReco)
    return built, event


def _seed(ra_deg: float, dec_deg: float) -> PixelSeed:
    return PixelSeed(nside=512, index=0, ra=math.radians(ra_deg), dec=math.radians(dec_deg))


@pytest.mark.parametrize("name", EVENTS)
def test_prepare_cleans_the_pulses_as_the_message_counts_them(name: str) -> None:
    msg = message(name)
    setup = get_reco("pandel_mpe").prepare(RealtimeEvent.read(msg), {})
    data = msg["value"]["data"]
    assert setup["cleaned"]["npulses"] == data["npulses"]
    assert setup["cleaned"]["nch"] == data["nch"] == len(setup["doms"])
    assert round(setup["cleaned"]["qtot"], 2) == data["qtot"]
    assert len(json.dumps(setup)) < 20_000  # it travels with every pixel task


def test_the_likelihood_prefers_the_track_to_directions_3_deg_away() -> None:
    reco, event = _reco(NEW_EVENT)
    online = event.require_online()
    ra, dec = detector_to_j2000(online.zen, online.azi, event.event_time)
    at_online = reco.fit(_seed(ra, dec))
    for dra, ddec in ((3, 0), (-3, 0), (0, 3), (0, -3)):
        away = reco.fit(_seed(ra + dra / math.cos(math.radians(dec)), dec + ddec))
        assert away.llh > at_online.llh + 10.0
    # the fitted vertex lies on the online track (within tens of metres), the time near the online time
    fit_vertex = np.array([at_online.X, at_online.Y, at_online.Z])
    spline = np.array(reco.online_vertex)
    u = reco.direction(math.radians(ra), math.radians(dec))
    offset = fit_vertex - spline
    assert np.linalg.norm(offset - (offset @ u) * u) < 30.0
    assert math.isfinite(at_online.T)
    assert 0 < at_online.E_in <= at_online.E_tot


def test_the_fit_is_reproducible_and_uses_the_parent_vertex() -> None:
    reco, _ = _reco(NEW_EVENT)
    seed = _seed(138.6, 0.2)
    first, second = reco.fit(seed), reco.fit(seed)
    assert first == second
    parent = first.vertex()
    assert parent is not None
    refined = reco.fit(PixelSeed(512, 1, seed.ra, seed.dec, vertex=parent))
    assert refined.llh <= first.llh + 1e-6


def test_a_far_pixel_gives_up_early_and_a_pixel_near_the_light_is_fitted_to_the_end() -> None:
    reco, event = _reco(NEW_EVENT)
    patient, _ = _reco(NEW_EVENT, give_up_dllh=0)
    assert reco.give_up is not None and patient.give_up is None
    online = event.require_online()
    ra, dec = detector_to_j2000(online.zen, online.azi, event.event_time)
    # the reference is the -ln L fitted at the online direction (the frames' SplineMPE; the message's
    # rounded zenith / azimuth give nearly the same)
    at_online = patient.fit(_seed(ra, dec))
    assert reco.give_up.above_llh == pytest.approx(at_online.llh + 120.0, abs=0.5)
    # 90 deg away: stops after 10 iterations, above the bound, at an upper bound of the full search
    far = reco.direction(math.radians((ra + 90.0) % 360.0), 0.0)
    quick, quick_evaluations = reco.fit_direction(far)
    full, full_evaluations = patient.fit_direction(far)
    assert quick_evaluations < full_evaluations / 2
    assert quick.llh > reco.give_up.above_llh
    assert quick.llh >= full.llh
    # 1 deg away: the same fit either way
    for dra, ddec in ((1, 0), (0, -1)):
        seed = _seed(ra + dra / math.cos(math.radians(dec)), dec + ddec)
        assert reco.fit(seed) == patient.fit(seed)


def test_a_search_still_coming_down_fast_is_not_given_up() -> None:
    rule = GiveUp(above_llh=1000.0)
    slow = [1500.0 - 2.0 * i for i in range(12)]  # 278 above the bound, 2 per iteration
    fast = [1800.0 - 40.0 * i for i in range(12)]  # a bright event's seeds, 40 per iteration
    below = [990.0] * 12  # stalled, but below the bound: it may hold a region
    assert rule.hopeless(11, slow)
    assert not rule.hopeless(11, fast)
    assert not rule.hopeless(11, below)
    assert not rule.hopeless(5, slow[:6])  # never before after_iterations


def test_homogeneous_ice_is_a_different_model() -> None:
    layered, _ = _reco(NEW_EVENT)
    homogeneous, _ = _reco(NEW_EVENT, ice="homogeneous")
    seed = _seed(138.6, 0.2)
    assert layered.fit(seed).llh != pytest.approx(homogeneous.fit(seed).llh, abs=0.1)


def test_an_event_without_frames_is_refused_naming_the_field() -> None:
    msg = copy.deepcopy(message(NEW_EVENT))
    del msg["value"]["data"]["frames"]
    with pytest.raises(EventFormatError, match=r"value\.data\.frames: missing"):
        get_reco("pandel_mpe").prepare(RealtimeEvent.read(msg), {})


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"jitter_ns": -1}, r"reco_options\.jitter_ns of 'pandel_mpe'"),
        ({"ice": "foggy"}, r"reco_options\.ice of 'pandel_mpe'.*'foggy'"),
        ({"speed": 1}, r"\['speed'\] not understood by 'pandel_mpe'"),
        ({"give_up_dllh": -5}, r"reco_options\.give_up_dllh of 'pandel_mpe'.*-5"),
    ],
)
def test_bad_options_are_named(options: dict[str, object], expected: str) -> None:
    with pytest.raises(RecoOptionError, match=expected):
        get_reco("pandel_mpe").prepare(RealtimeEvent.read(message(NEW_EVENT)), options)


@pytest.mark.slow
def test_a_scan_under_max_pixel_reco_time_lands_near_the_online_fit() -> None:
    msg = message(NEW_EVENT)
    event = RealtimeEvent.read(msg)
    online = event.require_online()
    ra0, dec0 = detector_to_j2000(online.zen, online.azi, event.event_time)
    request = ScanRequest(
        "pandelmpe0dx0123456789abcdef0123", msg, "pandel_mpe", ((8, 0), (64, 4)), max_pixel_reco_time=20.0
    )
    with open_pool("inprocess", workers=2) as pool:
        result = run_scan(request, RecordingObserver(), pool=pool)
    assert len(result["nside-8"]["data"]) == 768
    assert result["nside-64"]["metadata"]["reco_algo"] == "pandel_mpe"
    ra, dec = best_direction_deg(result)
    assert angular_distance_deg(ra, dec, ra0, dec0) < 1.5
    # every pixel was fitted: finite llh and vertex
    rows = result["nside-64"]["data"]
    assert all(isinstance(row[1], float) and math.isfinite(row[1]) for row in rows)
