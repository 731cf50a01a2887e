"""The plain-Python IceTray reader on the two real realtime messages (2021a and 2023a variants)."""

from __future__ import annotations

import base64
import pickle
import zlib

import numpy as np
import pytest

from skybase.i3.archive import ArchiveError
from skybase.i3.crc32c import crc32c, crc32c_register
from skybase.i3.event import EventFrames
from skybase.i3.frame import FrameError, parse_frame
from skybase.i3.objects import decode_frame
from skybase.i3.pickle import FramePickleError, decode_frame_entry, unpickle_frame
from tests.skybase_i3.realdata import EVENTS, NEW_EVENT, OLD_EVENT, message

# split pulses before cleaning, as measured (README of the real data: 948 / 216 / 885.50 for 138632)
SPLIT = {NEW_EVENT: (948, 216, 885.50), OLD_EVENT: (763, 176, 1418.43)}


def _blobs(name: str) -> dict[str, bytes]:
    return dict(
        decode_frame_entry(entry, f"frames[{i}]")
        for i, entry in enumerate(message(name)["value"]["data"]["frames"])
    )


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    data = bytes(range(256)) * 5
    assert crc32c_register(data[100:], crc32c_register(data[:100])) == crc32c_register(data)


@pytest.mark.parametrize("name", EVENTS)
def test_every_frame_parses_with_a_verified_crc(name: str) -> None:
    blobs = _blobs(name)
    assert sorted(blobs) == ["C", "D", "G", "P", "Q"]
    for letter, blob in blobs.items():
        frame = parse_frame(blob, f"{letter} frame")  # raises on a mismatch
        assert frame.stream == letter
        assert frame.checksum == int.from_bytes(blob[-4:], "little")


@pytest.mark.parametrize("name", EVENTS)
def test_a_flipped_byte_is_caught_by_the_crc(name: str) -> None:
    blob = bytearray(_blobs(name)["P"])
    spot = len(blob) // 2
    blob[spot] ^= 0x10
    with pytest.raises(FrameError, match=r"P frame: CRC-32C mismatch"):
        parse_frame(bytes(blob), "P frame")


def test_a_truncated_frame_names_frame_key_and_offset() -> None:
    blob = _blobs(NEW_EVENT)["Q"]
    frame = parse_frame(blob, "Q frame")
    superdst = frame.slot("I3SuperDST")
    cut = blob[: superdst.offset + 100]
    expected = r"Q frame, key 'I3SuperDST': truncated: object buffer .* at offset"
    with pytest.raises(ArchiveError, match=expected):
        parse_frame(cut, "Q frame")


def test_a_corrupt_object_inside_a_valid_frame_names_its_key() -> None:
    frame = parse_frame(_blobs(NEW_EVENT)["Q"], "Q frame")
    slot = frame.slot("InIceDSTPulses")
    broken = type(slot)(slot.key, slot.type_name, slot.buf[:-30], slot.offset)
    raw = type(frame)(frame.stream, (broken,), frame.checksum)
    with pytest.raises(ArchiveError, match=r"Q frame, key 'InIceDSTPulses': truncated: .* at offset \d+"):
        decode_frame(raw, "Q frame")


def test_unpickler_refuses_any_other_class() -> None:
    evil = pickle.dumps(print, protocol=2)
    with pytest.raises(FramePickleError, match=r"global \w+\.print refused"):
        unpickle_frame(evil)
    entry = ["P", base64.b64encode(zlib.compress(pickle.dumps({"a": 1}, protocol=2))).decode()]
    with pytest.raises(FramePickleError, match=r"not an I3Frame"):
        decode_frame_entry(entry, "frames[0]")


@pytest.mark.parametrize("name", EVENTS)
def test_split_pulses_decoded(name: str) -> None:
    pulses = EventFrames.from_message(message(name)).split_pulses()
    n, doms, charge = SPLIT[name]
    assert (len(pulses), pulses.n_doms) == (n, doms)
    assert pulses.total_charge() == pytest.approx(charge, abs=0.005)
    # typed: times in ns inside the split's time range, positive charges, flags FADC at least
    assert pulses.time.dtype == np.float64 and pulses.charge.dtype == np.float32
    assert np.all(pulses.charge > 0) and np.all((pulses.flags & 4) == 4)
    assert np.all(np.diff(pulses.dom_code) >= 0)


@pytest.mark.parametrize("name", EVENTS)
def test_splinempe_equals_the_message(name: str) -> None:
    msg = message(name)
    frames = EventFrames.from_message(msg)
    fit = frames.splinempe()
    online = msg["value"]["data"]["reco"]["splinempe"]
    assert round(fit.zenith, 5) == online["zen"]
    assert round(fit.azimuth, 5) == online["azi"]
    assert fit.ok and fit.shape == "InfiniteTrack"
    header = frames.header()
    data = msg["value"]["data"]
    assert (header.run_id, header.event_id) == (data["run_id"], data["event_id"])


@pytest.mark.parametrize("name", EVENTS)
def test_unknown_types_are_listed_not_fatal(name: str) -> None:
    frames = EventFrames.from_message(message(name))
    unknown = frames.unknown()
    assert "I3LogLikelihoodFitParams" in " ".join(unknown["P"].values())
    # the message's own JSON travels in the P frame as an I3String
    own_json = frames.lookup("AlertShortFollowupMsg")
    assert '"run_id"' in own_json and '"nch"' in own_json
