"""Geometry shipped as package data, and the online cleaning reproducing the messages' numbers."""

from __future__ import annotations

import numpy as np
import pytest

from skybase.i3.cleaning import CleaningSettings, clean
from skybase.i3.event import EventFrames
from skybase.i3.geometry import Geometry, GeometryError, IceTable
from tests.skybase_i3.realdata import EVENTS, message


def test_geometry_has_every_in_ice_dom_and_counts_the_interpolated() -> None:
    geo = Geometry.load()
    assert int(geo.present[1:, 1:].sum()) == 5083
    assert len(geo.interpolated) == 77
    assert (7, 35) in geo.interpolated and (34, 11) in geo.interpolated
    assert not np.isnan(geo.xyz[1:, 1:]).any()
    # an interpolated DOM sits between its string neighbours
    xyz, interpolated = geo.positions([7, 7, 7], [34, 35, 43])
    assert interpolated.tolist() == [False, True, False]
    assert xyz[0, 2] > xyz[1, 2] > xyz[2, 2]
    assert xyz[1, 0] == pytest.approx(xyz[0, 0], abs=1.0)
    with pytest.raises(GeometryError, match=r"DOM \(87,1\): not an in-ice IC86 DOM"):
        geo.positions([87], [1])


def test_ice_table_covers_the_detector() -> None:
    ice = IceTable.load()
    scattering, absorption = ice.at_z(np.array([-500.0, 0.0, 500.0]))
    assert np.all(scattering > 0) and np.all(absorption > scattering)
    assert ice.depth.min() < 1948.07 - 500 and ice.depth.max() > 1948.07 + 500


@pytest.mark.parametrize("name", EVENTS)
def test_cleaning_reproduces_npulses_nch_qtot(name: str) -> None:
    msg = message(name)
    data = msg["value"]["data"]
    cleaned = clean(EventFrames.from_message(msg).split_pulses(), Geometry.load())
    assert cleaned.npulses == data["npulses"]
    assert cleaned.nch == data["nch"]
    assert round(cleaned.qtot, 2) == pytest.approx(data["qtot"], abs=1e-9)
    assert not np.isin(cleaned.pulses.string, np.arange(79, 87)).any()


def test_without_self_coincidence_the_2021a_event_is_one_pulse_short() -> None:
    msg = message(EVENTS[1])
    settings = CleaningSettings(allow_self_coincidence=False)
    cleaned = clean(EventFrames.from_message(msg).split_pulses(), Geometry.load(), settings)
    assert cleaned.npulses == msg["value"]["data"]["npulses"] - 1
