"""The frame writer is the reader's inverse: IceTray's own bytes reproduced, pulses round-tripped."""

from __future__ import annotations

import numpy as np
import pytest

from skybase.i3 import writer
from skybase.i3.event import EventFrames
from skybase.i3.frame import FrameError, parse_frame
from skybase.i3.pulses import FLAG_FADC, FLAG_LC, PulseSeries
from tests.skybase_i3.realdata import EVENTS, message


@pytest.mark.parametrize("name", EVENTS)
def test_particle_and_header_bytes_equal_icetrays(name: str) -> None:
    frames = EventFrames.from_message(message(name))
    raw = frames.frames["P"].raw
    assert raw is not None
    spline = frames.splinempe()
    key = next(k for k in frames.frames["P"].objects if frames.frames["P"].objects[k] == spline)
    assert writer.particle_bytes(spline) == raw.slot(key).buf
    assert writer.event_header_bytes(frames.header()) == raw.slot("I3EventHeader").buf


@pytest.mark.parametrize("name", EVENTS)
def test_real_pulses_round_trip_through_superdst_and_masks(name: str) -> None:
    frames = EventFrames.from_message(message(name))
    pulses = frames.pulses("I3SuperDST")
    # what the writer accepts: in-ice pulses at whole ns (the merged ones of IceTray's decoder are not)
    pulses = pulses.select((pulses.om <= 60) & (pulses.time == np.round(pulses.time)) & (pulses.width >= 1))
    keep = pulses.charge > 0.5
    q = writer.frame_bytes("Q", {"I3SuperDST": ("I3SuperDST", writer.superdst_bytes(pulses))})
    p = writer.frame_bytes(
        "P", {"Bright": ("I3RecoPulseSeriesMapMask", writer.mask_bytes("I3SuperDST", keep, pulses))}
    )
    again = EventFrames.from_entries([writer.frame_entry("Q", q), writer.frame_entry("P", p)])
    decoded = again.pulses("I3SuperDST")
    for field in ("string", "om", "time", "charge", "width", "flags"):
        assert np.array_equal(getattr(decoded, field), getattr(pulses, field)), field
    bright = again.pulses("Bright")
    assert len(bright) == int(keep.sum()) and np.all(bright.charge > 0.5)


def test_overflow_words_and_long_runs_survive() -> None:
    n = 40
    pulses = PulseSeries(
        string=np.full(n, 21, np.int16),
        om=np.full(n, 30, np.int16),
        time=np.cumsum(np.r_[100.0, np.full(n - 1, 300.0)]) + np.r_[0.0, 70000.0, np.zeros(n - 2)].cumsum(),
        charge=np.r_[np.float32(4000.0), np.full(n - 1, 0.975, np.float32)].astype(np.float32),
        width=np.full(n, 8.0, np.float32),
        flags=np.full(n, FLAG_FADC | FLAG_LC, np.uint8),
    )
    q = writer.frame_bytes("Q", {"I3SuperDST": ("I3SuperDST", writer.superdst_bytes(pulses))})
    decoded = EventFrames.from_entries([writer.frame_entry("Q", q)]).pulses("I3SuperDST")
    assert np.array_equal(decoded.time, pulses.time)
    assert decoded.charge[0] == pytest.approx(4000.0, abs=0.05)  # charge code 80000: overflow words
    assert np.allclose(decoded.charge[1:], 0.975)


def test_written_frames_carry_a_checked_crc() -> None:
    blob = bytearray(writer.frame_bytes("P", {"x": ("I3PODHolder<double>", writer.double_bytes(1.5))}))
    assert parse_frame(bytes(blob), "P frame").slot("x").key == "x"
    blob[-8] ^= 1
    with pytest.raises(FrameError, match="CRC-32C mismatch"):
        parse_frame(bytes(blob), "P frame")
