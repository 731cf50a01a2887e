"""Legacy HESE messages (``value.data`` is the frame list) read as IceCube's scanner reads them, and the
message's counts compared as IceCube writes them (5 decimals)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from scanner_client.skyscan_result import SkyscanResult
from skybase.event import RealtimeEvent
from skybase.i3.event import EventFrames
from skybase.i3.legacy_message import LEGACY_VERSION, current_form, is_legacy, utc_of
from skybase.i3.particle import I3Time
from skybase.sky import angular_distance_deg, detector_to_j2000
from skyscan.cli import main
from skyscan.inspect_event import inspect_message

DATA = Path(__file__).parent / "data"
HESE = DATA / "hese_event_2017-11-28.json"
GOLD = DATA / "run00136766-evt000007637140-GOLD.json"


def load(path: Path) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(path.read_text())
    return message


def test_a_legacy_message_is_read_from_its_frames() -> None:
    message = load(HESE)
    assert is_legacy(message) and isinstance(message["value"]["data"], list)
    event = RealtimeEvent.read(current_form(message))
    assert (event.run_id, event.event_id, event.event_type) == (130322, 1414689, "HESE")
    assert event.format_version == LEGACY_VERSION
    # the header's start time, shortly before the live system stamped the message ("time")
    received = dt.datetime.fromisoformat(message["time"]).replace(tzinfo=dt.UTC)
    assert dt.timedelta(0) < received - event.event_time < dt.timedelta(minutes=5)
    spline = EventFrames.from_entries(message["value"]["data"]).particle("OnlineL2_SplineMPE")
    online = event.require_online()
    assert (online.zen, online.azi) == (spline.zenith, spline.azimuth)
    assert event.frames == message["value"]["data"]  # the frames travel on untouched
    current = load(GOLD)
    assert not is_legacy(current) and current_form(current) is current


def test_icetray_time_counts_the_june_leap_second() -> None:
    """IceTray's DAQ time counts SI seconds from 1 January: after 30 June 2015's leap second, one more."""
    start_of_july = int((dt.datetime(2015, 7, 1) - dt.datetime(2015, 1, 1)).total_seconds())  # 181 days
    tenths_of_ns = 10**10
    assert utc_of(I3Time(2015, (start_of_july + 1) * tenths_of_ns)) == dt.datetime(2015, 7, 1, tzinfo=dt.UTC)
    assert utc_of(I3Time(2017, start_of_july * tenths_of_ns)) == dt.datetime(2017, 7, 1, tzinfo=dt.UTC)


def test_event_inspect_reads_a_legacy_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["event", "inspect", str(HESE)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["run_id"], report["event_id"], report["legacy_message"]) == (130322, 1414689, True)
    assert report["split_pulses"]["key"] == "SplitUncleanedInIcePulses"
    assert report["cleaned_pulses"]["npulses"] > 0
    assert report["cleaned_pulses"]["matches_message"] is None  # the message states no counts
    assert "OnlineL2_SplineMPE" in report["online_fits"] and "HESE_SPEFit2" in report["online_fits"]


def test_scan_reads_a_legacy_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "result.json"
    argv = ["scan", str(HESE), "--nsides", "8:0", "--workers", "1", "--output", str(output)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    result = SkyscanResult.model_validate(json.loads(output.read_text()))
    metadata = result.at(8).metadata
    assert (metadata.run_id, metadata.event_id, metadata.event_type) == (130322, 1414689, "HESE")
    event = RealtimeEvent.read(current_form(load(HESE)))
    online = event.require_online()
    ra, dec = detector_to_j2000(online.zen, online.azi, event.event_time)
    best = summary["best_fit"]
    assert angular_distance_deg(best["ra_deg"], best["dec_deg"], ra, dec) < 8.0  # an nside-8 pixel


def test_counts_compared_as_icecube_rounds_them(real_data: Path) -> None:
    """IceCube writes qtot with 5 decimals (2745.52501): the decoded 2745.525006 matches it."""
    gold = load(GOLD)
    report, _frames, cleaned = inspect_message(gold)
    assert (cleaned.npulses, cleaned.nch) == (1641, 239)
    assert report["cleaned_pulses"]["message"]["qtot"] == 2745.52501
    assert report["cleaned_pulses"]["matches_message"] is True
    for name in ("run00136662-evt000035405932-BRONZE.json", "run00138632-evt000031747601-BRONZE.json"):
        real, _f, _c = inspect_message(json.loads((real_data / name).read_text()))
        assert real["cleaned_pulses"]["matches_message"] is True, name
    off = copy.deepcopy(gold)
    off["value"]["data"]["qtot"] = 2745.52502
    assert inspect_message(off)[0]["cleaned_pulses"]["matches_message"] is False
