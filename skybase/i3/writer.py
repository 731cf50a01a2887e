"""Writing IceTray frames and realtime-message frame entries: the inverse of the reader.

Used by ``skyscan simulate`` to put simulated pulses into the same format the realtime messages carry
(so the same reader reads them), and by the tests as a round trip. It writes what IceTray writes: the
portable binary archive with boost's class-information and object-id rules (:mod:`.archive`), version-6
frames with their CRC-32C, objects in key order, and the 2023a pickle (``icecube._icetray.I3Frame``
with a latin1-encoded ``_codecs.encode`` string), zlib-compressed and base64-encoded.
"""

from __future__ import annotations

import base64
import itertools
import struct
import zlib
from collections.abc import Iterable, Mapping

import numpy as np

from skybase.i3.crc32c import crc32c_register
from skybase.i3.frame import FRAME_TAG, FRAME_VERSION
from skybase.i3.particle import FIT_STATUS, SHAPES, EventHeader, I3Time, Particle
from skybase.i3.pulses import FLAG_LC, PulseSeries


class ArchiveWriter:
    """One archive being written; classes get (tracking, version) on first use, tracked ones an oid."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.seen: set[str] = set()
        self.next_oid = 0

    def raw(self, data: bytes) -> None:
        self.buf += data

    def pack(self, fmt: str, value: float | int) -> None:
        self.buf += struct.pack("<" + fmt, value)

    def count(self, n: int) -> None:
        if n >= 0xFFFFFFFF:
            self.pack("I", 0xFFFFFFFF)
            self.pack("Q", n)
        else:
            self.pack("I", n)

    def string(self, data: bytes | str) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        self.count(len(raw))
        self.buf += raw

    def class_info(self, name: str, *, tracking: bool, version: int) -> None:
        if name not in self.seen:
            self.seen.add(name)
            self.pack("B", int(tracking))
            self.pack("B", version)
        if tracking:
            self.pack("I", self.next_oid)
            self.next_oid += 1

    def frame_object(self, exported: str, version: int) -> None:
        """The preamble of a frame object: shared_ptr, polymorphic pointer, and the I3FrameObject base."""
        self.pack("B", 0)  # shared_ptr: untracked
        self.pack("B", 1)  # version 1
        self.pack("h", 2)  # class id 2: ids 0 and 1 are the shared_ptr and the I3FrameObject pointer
        self.string(exported)
        self.seen.add(exported)
        self.pack("B", 1)
        self.pack("B", version)
        self.pack("I", self.next_oid)
        self.next_oid += 1
        self.class_info("I3FrameObject", tracking=True, version=0)


def _size_code(w: ArchiveWriter, size: int) -> None:
    w.class_info("I3SuperDSTUtils::SizeCodec", tracking=False, version=0)
    if size < 0xFF - 8:
        w.pack("B", size)
        return
    n_bytes = (size.bit_length() - 1) // 8 + 1
    w.pack("B", 0xFF - n_bytes)
    w.raw(size.to_bytes(n_bytes, "little"))


def _compact(w: ArchiveWriter, element: str, items: bytes, itemsize: int) -> None:
    w.class_info(f"CompactVector<{element}>", tracking=False, version=0)
    _size_code(w, len(items) // itemsize)
    w.raw(items)


def encode_runs(values: Iterable[int]) -> bytes:
    """Run-length code 4-bit values (IceTray's RunCodec)."""
    out = bytearray()
    items = list(values)
    i = 0
    while i < len(items):
        j = i
        while j < len(items) and items[j] == items[i]:
            j += 1
        length = j - i
        for block in range((length.bit_length() - 1) // 4 + 1):
            out.append((items[i] & 0xF) | (((length >> (4 * block)) & 0xF) << 4))
        i = j
    return bytes(out)


def _overflow(stamps: list[int], code: int) -> None:
    while True:
        chunk = min(code, 0xFFFF)
        stamps.append(chunk)
        code -= chunk
        if code == 0:
            break
    if stamps[-1] == 0xFFFF:
        stamps.append(0)


class SuperDSTEncodingError(ValueError):
    """Pulses that I3SuperDST cannot carry (before -512 ns, IceTop, non-integer times)."""


def superdst_bytes(pulses: PulseSeries) -> bytes:
    """An I3SuperDST (version 1) frame object of in-ice pulses whose times are whole ns >= -512.

    Each DOM's pulses become readouts (runs of the same LC bit); readouts are ordered by start time.
    Charges are coded as floor(q / 0.05) (decoded at the bin centre), widths as ceil(log2(width)).
    """
    if len(pulses) and (np.any(pulses.om > 60) or np.any(pulses.time < -512)):
        raise SuperDSTEncodingError("pulses: only in-ice pulses at t >= -512 ns can be encoded")
    if len(pulses) and not np.array_equal(pulses.time, np.round(pulses.time)):
        raise SuperDSTEncodingError("pulses: times must be whole nanoseconds (I3SuperDST's 1 ns code)")
    readouts: list[tuple[float, int, int, list[int]]] = []  # (start, string, om, pulse indices)
    starts = pulses.dom_starts()
    for lo, hi in itertools.pairwise(starts):
        order = list(range(int(lo), int(hi)))
        order.sort(key=lambda k: pulses.time[k])
        group: list[int] = []
        for k in order:
            if group and bool(pulses.flags[k] & FLAG_LC) != bool(pulses.flags[group[0]] & FLAG_LC):
                start = float(pulses.time[group[0]])
                readouts.append((start, int(pulses.string[k]), int(pulses.om[k]), group))
                group = []
            group.append(k)
        if group:
            readouts.append(
                (float(pulses.time[group[0]]), int(pulses.string[group[0]]), int(pulses.om[group[0]]), group)
            )
    readouts.sort(key=lambda r: (r[0], r[1], r[2]))
    stamps: list[int] = []
    headers: list[int] = []
    widths: list[list[int]] = [[], [], [], []]
    t_ref = -512
    for start, string, om, group in readouts:
        hlc = bool(pulses.flags[group[0]] & FLAG_LC)
        previous = t_ref
        for position, k in enumerate(group):
            t = int(pulses.time[k])
            timecode = t - previous
            previous = t
            chargecode = int(np.floor(max(0.0, float(pulses.charge[k])) / 0.05 + 1e-9))
            width = max(float(pulses.width[k]), 1.0)
            rounded = int(np.ceil(width))
            wcode = min(rounded.bit_length(), 15)
            if wcode > 0 and rounded == 1 << (wcode - 1):
                wcode -= 1
            widths[int(hlc)].append(wcode)
            stop = position == len(group) - 1
            if position == 0:
                capped = min(timecode, 2047)
                headers.append(((string << 6) | (om - 1)) | (((capped >> 8) & 0x7) << 13))
                stamp = (capped & 0xFF) | (min(chargecode, 63) << 8) | (int(hlc) << 14) | (int(stop) << 15)
                stamps.append(stamp)
                if timecode >= 2047:
                    _overflow(stamps, timecode - 2047)
            else:
                stamp = min(timecode, 255) | (min(chargecode, 63) << 8) | (int(hlc) << 14) | (int(stop) << 15)
                stamps.append(stamp)
                if timecode >= 255:
                    _overflow(stamps, timecode - 255)
            if chargecode >= 63:
                _overflow(stamps, chargecode - 63)
        t_ref = int(start)
    w = ArchiveWriter()
    w.frame_object("I3SuperDST", 1)
    _compact(w, "ChargeStamp", np.asarray(stamps, dtype="<u2").tobytes(), 2)
    _compact(w, "DOMHeader", np.asarray(headers, dtype="<u2").tobytes(), 2)
    for stream in widths:
        _compact(w, "uint8", encode_runs(stream), 1)
    _compact(w, "uint8", b"", 1)
    return bytes(w.buf)


def _bitmask(w: ArchiveWriter, bits: np.ndarray) -> None:
    w.class_info("I3RecoPulseSeriesMapMask::bitmask", tracking=False, version=0)
    nbits = int(bits.size)
    size = max(1, (nbits + 7) // 8)
    w.pack("H", size)
    w.pack("B", size * 8 - nbits)
    padded = np.zeros(size * 8, dtype=np.uint8)
    padded[:nbits] = bits.astype(np.uint8)
    w.raw(np.packbits(padded, bitorder="little").tobytes())


def mask_bytes(source: str, keep: np.ndarray, source_pulses: PulseSeries) -> bytes:
    """An I3RecoPulseSeriesMapMask (version 2) over ``source`` selecting the pulses where ``keep``."""
    starts = source_pulses.dom_starts()
    dom_bits = np.array([keep[lo:hi].any() for lo, hi in itertools.pairwise(starts)], dtype=bool)
    w = ArchiveWriter()
    w.frame_object("I3RecoPulseSeriesMapMask", 2)
    w.string(source)
    _bitmask(w, dom_bits)
    w.class_info("std::vector<bitmask>", tracking=False, version=0)
    chosen = np.flatnonzero(dom_bits)
    w.count(len(chosen))
    for dom in chosen:
        _bitmask(w, keep[starts[dom] : starts[dom + 1]])
    return bytes(w.buf)


def _code(table: Mapping[int, str], name: str) -> int:
    for code, text in table.items():
        if text == name:
            return code
    raise ValueError(f"unknown name {name!r}")


def particle_bytes(p: Particle) -> bytes:
    w = ArchiveWriter()
    w.frame_object("I3Particle", 5)
    w.pack("i", p.minor_id)
    w.pack("Q", p.major_id)
    w.pack("i", p.pdg_encoding)
    w.pack("i", _code(SHAPES, p.shape))
    w.pack("i", _code(FIT_STATUS, p.fit_status))
    w.class_info("I3Position", tracking=True, version=0)
    w.class_info("I3FrameObject", tracking=True, version=0)
    for v in (p.x, p.y, p.z):
        w.pack("d", v)
    w.class_info("I3Direction", tracking=True, version=0)
    w.class_info("I3FrameObject", tracking=True, version=0)
    for v in (p.zenith, p.azimuth, p.time, p.energy, p.length, p.speed):
        w.pack("d", v)
    w.pack("i", p.location_type)
    return bytes(w.buf)


def _time(w: ArchiveWriter, t: I3Time) -> None:
    w.class_info("I3Time", tracking=True, version=0)
    w.class_info("I3FrameObject", tracking=True, version=0)
    w.pack("i", t.year)
    w.pack("q", t.daq_time)


def event_header_bytes(h: EventHeader) -> bytes:
    w = ArchiveWriter()
    w.frame_object("I3EventHeader", 3)
    w.pack("I", h.run_id)
    w.pack("I", h.sub_run_id)
    w.pack("I", h.event_id)
    w.pack("i", h.state)
    w.pack("I", h.sub_event_id)
    w.string(h.sub_event_stream)
    _time(w, h.start_time)
    _time(w, h.end_time)
    return bytes(w.buf)


def string_bytes(text: str) -> bytes:
    w = ArchiveWriter()
    w.frame_object("I3String", 0)
    w.string(text)
    return bytes(w.buf)


def double_bytes(value: float) -> bytes:
    w = ArchiveWriter()
    w.frame_object("I3Double", 0)
    w.pack("d", value)
    return bytes(w.buf)


#: C++ type names IceTray writes into a frame for each exported class
TYPE_NAMES = {
    "I3SuperDST": "I3SuperDST",
    "I3RecoPulseSeriesMapMask": "I3RecoPulseSeriesMapMask",
    "I3Particle": "I3Particle",
    "I3EventHeader": "I3EventHeader",
    "I3String": "I3PODHolder<__cxx11::string >",
    "I3Double": "I3PODHolder<double>",
}


def frame_bytes(stream: str, objects: Mapping[str, tuple[str, bytes]]) -> bytes:
    """A version-6 frame: ``objects`` maps key -> (C++ type name, object buffer); written in key order."""
    out = bytearray(FRAME_TAG)
    out += struct.pack("<I", FRAME_VERSION)
    out += b"\x00\x00"  # I3Frame::Stream class information: untracked, version 0
    letter = stream.encode("latin1")
    out += letter
    out += struct.pack("<I", len(objects))
    crc = crc32c_register(struct.pack("<I", len(objects)), crc32c_register(letter))
    for key in sorted(objects):
        type_name, buf = objects[key]
        for part in (key.encode("utf-8"), type_name.encode("utf-8"), buf):
            size = struct.pack("<I", len(part))
            out += size + part
            crc = crc32c_register(part, crc32c_register(size, crc))
    out += struct.pack("<I", crc)
    return bytes(out)


def pickle_frame(blob: bytes) -> bytes:
    """The 2023a pickle of an I3Frame: ``icecube._icetray.I3Frame`` with ``_codecs.encode(str, 'latin1')``."""
    text = blob.decode("latin1").encode("utf-8")
    return (
        b"\x80\x02cicecube._icetray\nI3Frame\nq\x00)Rq\x01}q\x02c_codecs\nencode\nq\x03X"
        + struct.pack("<I", len(text))
        + text
        + b"q\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x86q\x08b."
    )


def frame_entry(stream: str, blob: bytes) -> list[str]:
    """``[stream letter, base64(zlib(pickle))]`` as in ``value.data.frames``."""
    return [stream, base64.b64encode(zlib.compress(pickle_frame(blob), 9)).decode("ascii")]
