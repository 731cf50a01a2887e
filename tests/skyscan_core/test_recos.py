"""Event reading and the reco algorithms (online_gaussian's statistics, dummy's options)."""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from skymist.coords import angular_distance_deg
from skyscan.events import EventFormatError, ScanEvent
from skyscan.recos import PixelSeed, RecoOptionError, UnknownRecoError, get_reco
from skyscan.recos.online_gaussian import R90_IN_SIGMAS

REV0_RA, REV0_DEC = 138.6545, 0.1418


def seed_at(ra_deg: float, dec_deg: float, **kwargs: Any) -> PixelSeed:
    return PixelSeed(nside=512, index=0, ra=math.radians(ra_deg), dec=math.radians(dec_deg), **kwargs)


def offset(ra_deg: float, dec_deg: float, distance_deg: float, angle_deg: float) -> tuple[float, float]:
    """The point ``distance_deg`` away from (RA, Dec) towards position angle ``angle_deg`` (east of north)."""
    ra, dec, d, a = map(math.radians, (ra_deg, dec_deg, distance_deg, angle_deg))
    dec2 = math.asin(math.sin(dec) * math.cos(d) + math.cos(dec) * math.sin(d) * math.cos(a))
    ra2 = ra + math.atan2(
        math.sin(a) * math.sin(d) * math.cos(dec), math.cos(d) - math.sin(dec) * math.sin(dec2)
    )
    return math.degrees(ra2) % 360.0, math.degrees(dec2)


def test_event_reading(bronze_event: dict[str, Any]) -> None:
    event = ScanEvent.from_message(bronze_event)
    assert (event.run_id, event.event_id, event.event_type) == (138632, 31747601, "neutrino")
    assert event.event_time == dt.datetime(2023, 12, 2, 17, 8, 24, 93230, tzinfo=dt.UTC)
    assert event.mjd == pytest.approx(60280.71416774572, abs=1e-9)
    assert event.realtime_format_version == "2023a"
    online = event.require_online()
    assert (online.zenith, online.azimuth, online.zenith_error, online.azimuth_error) == (
        1.57163,
        4.87687,
        0.00402,
        0.00288,
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("value", "data", "run_id"),
            "138632",
            "value.data.run_id: expected a non-negative integer, got '138632'",
        ),
        (("value", "data", "eventtime"), "yesterday", "value.data.eventtime: not a date-time: 'yesterday'"),
        (
            ("value", "data", "reco", "splinempe", "zen"),
            4.0,
            "value.data.reco.splinempe.zen: must lie in [0, pi]",
        ),
        (
            ("value", "data", "reco", "splinempe", "cr_azi"),
            None,
            "value.data.reco.splinempe.cr_azi: expected a finite",
        ),
        (("value", "streams"), [], "value.streams: expected a non-empty list of stream names, got []"),
        (("value", "data"), "frames", "value.data: expected an object, got str 'frames'"),
    ],
)
def test_event_errors_name_the_field_and_value(
    bronze_event: dict[str, Any], path: tuple[str, ...], value: Any, message: str
) -> None:
    broken = copy.deepcopy(bronze_event)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    if path == ("value", "streams"):
        del broken["value"]["zmqnotify"]
    with pytest.raises(EventFormatError) as info:
        ScanEvent.from_message(broken)
    assert str(info.value).startswith(message)


def test_missing_event_fields_are_named(bronze_event: dict[str, Any]) -> None:
    broken = copy.deepcopy(bronze_event)
    del broken["value"]["data"]["event_id"]
    with pytest.raises(EventFormatError, match=r"^value\.data\.event_id: missing"):
        ScanEvent.from_message(broken)
    del broken["value"]["data"]["reco"]["splinempe"]
    broken["value"]["data"]["event_id"] = 1
    event = ScanEvent.from_message(broken)
    with pytest.raises(EventFormatError, match=r"^value\.data\.reco\.splinempe: missing"):
        get_reco("online_gaussian").prepare(event, {})


def test_online_gaussian_peaks_at_the_published_rev0_position(bronze_event: dict[str, Any]) -> None:
    reco_cls = get_reco("online_gaussian")
    setup = reco_cls.prepare(ScanEvent.from_message(bronze_event), {})
    assert angular_distance_deg(setup["ra_deg"], setup["dec_deg"], REV0_RA, REV0_DEC) < 0.02
    reco = reco_cls.from_setup(setup)
    centre = reco.fit(seed_at(setup["ra_deg"], setup["dec_deg"])).llh
    for angle in (0, 45, 90, 200):
        assert reco.fit(seed_at(*offset(setup["ra_deg"], setup["dec_deg"], 0.3, angle))).llh > centre
    fit = reco.fit(seed_at(REV0_RA, REV0_DEC))
    assert all(math.isnan(v) for v in (fit.E_in, fit.E_tot, fit.X, fit.Y, fit.Z, fit.T))


@pytest.mark.parametrize("floor_r90_deg", [0.5, 2.0])
def test_online_gaussian_two_delta_llh_is_a_chi_square(
    bronze_event: dict[str, Any], floor_r90_deg: float
) -> None:
    """With the floor dominating, the Gaussian is circular: 2*dllh = (r/sigma)^2 in every direction, and
    the floor's 90 % radius sits exactly at Wilks' 90 % level for 2 dof (4.61)."""
    reco_cls = get_reco("online_gaussian")
    setup = reco_cls.prepare(ScanEvent.from_message(bronze_event), {"floor_r90_deg": floor_r90_deg})
    sigma_deg = floor_r90_deg / R90_IN_SIGMAS
    assert math.degrees(setup["sigma_zen"]) == pytest.approx(sigma_deg, rel=1e-9)  # cr_zen 0.00402 < floor
    reco = reco_cls.from_setup(setup)
    ra0, dec0 = setup["ra_deg"], setup["dec_deg"]
    best = reco.fit(seed_at(ra0, dec0)).llh
    assert best == pytest.approx(math.log(2 * math.pi * math.radians(sigma_deg) ** 2))  # -ln(peak density)
    for angle in np.linspace(0, 360, 13):
        two_dllh = 2 * (reco.fit(seed_at(*offset(ra0, dec0, floor_r90_deg, float(angle)))).llh - best)
        assert two_dllh == pytest.approx(2 * math.log(10), rel=1e-4)  # 4.605


def test_online_gaussian_keeps_errors_larger_than_the_floor(bronze_event: dict[str, Any]) -> None:
    wide = copy.deepcopy(bronze_event)
    wide["value"]["data"]["reco"]["splinempe"]["cr_zen"] = math.radians(2.0)
    setup = get_reco("online_gaussian").prepare(ScanEvent.from_message(wide), {})
    assert math.degrees(setup["sigma_zen"]) == pytest.approx(2.0)
    assert math.degrees(setup["sigma_azi"]) == pytest.approx(0.5 / R90_IN_SIGMAS)


def test_reco_options_are_checked(bronze_event: dict[str, Any]) -> None:
    event = ScanEvent.from_message(bronze_event)
    with pytest.raises(RecoOptionError, match=r"reco_options: \['delay'\] not understood by 'dummy'"):
        get_reco("dummy").prepare(event, {"delay": 1})
    with pytest.raises(
        RecoOptionError, match=r"reco_options\.delay_s of 'dummy': expected a number >= 0, got -1"
    ):
        get_reco("dummy").prepare(event, {"delay_s": -1})
    with pytest.raises(RecoOptionError, match=r"reco_options\.floor_r90_deg of 'online_gaussian'"):
        get_reco("online_gaussian").prepare(event, {"floor_r90_deg": "wide"})
    with pytest.raises(
        UnknownRecoError, match=r"reco_algo: unknown 'millipede'; known: dummy, online_gaussian"
    ):
        get_reco("millipede")


def test_dummy_seed_makes_fits_reproducible(bronze_event: dict[str, Any]) -> None:
    event = ScanEvent.from_message(bronze_event)
    dummy = get_reco("dummy")
    seeded = dummy.from_setup(dummy.prepare(event, {"seed": 7}))
    again = dummy.from_setup(dummy.prepare(event, {"seed": 7}))
    other = dummy.from_setup(dummy.prepare(event, {"seed": 8}))
    pixel = PixelSeed(nside=8, index=42, ra=1.0, dec=0.5)
    assert seeded.fit(pixel) == again.fit(pixel)
    assert seeded.fit(pixel) != other.fit(pixel)
    unseeded = dummy.from_setup(dummy.prepare(event, {}))
    assert unseeded.fit(pixel) != unseeded.fit(pixel)
