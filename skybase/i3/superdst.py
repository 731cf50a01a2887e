"""``I3SuperDST`` (class version 1), IceCube's compressed pulse format, unpacked to a :class:`PulseSeries`.

Learnt from IceTray's public ``I3SuperDST.cxx`` (format only; this is an independent implementation).
After the ``I3FrameObject`` base the archive holds five compact vectors (a size in the I3SuperDST size
code: one byte below 0xF7, else 0xFF - n followed by n little-endian bytes; then the raw contents):

- *charge stamps*, uint16 each: bits 0-7 relative time code, 8-13 charge code, 14 HLC bit, 15 stop bit
  (last stamp of a readout). A saturated field (time 2047 in a readout's first stamp, whose top 3 bits
  come from the header; 255 in later stamps; charge 63) continues in the following *overflow words*:
  whole uint16 values added to the code while they equal 65535;
- *DOM headers*, uint16 each, one per readout: bits 0-12 DOM id (string << 6 | om - 1), 13-15 the top
  3 bits of the first stamp's time code;
- four *width streams* (in-ice SLC, in-ice HLC, IceTop SLC, IceTop HLC), run-length coded 4-bit codes:
  each byte holds a code (low nibble) and 4 bits of a run length (high nibble); consecutive bytes with
  the same code concatenate their length nibbles, least significant first;
- *extra bytes*: the upper 8 bits of the 14-bit logarithmic charge code of IceTop readouts.

Decoding: time code x 1 ns; in-ice charge (code + 0.5) x 0.05 PE (bin centre); IceTop charge
10^(code x 9/16383 - 2) PE; width 2^code ns. Readout start times are differences from the previous
readout, starting at -512 ns; later stamps are differences from the previous stamp. Pulses get FADC,
HLC ones LC and ATWD. Within a DOM pulses are time-sorted and then made not to overlap: each width is
cut to the gap to the next pulse, and a pulse left with zero width is merged with its predecessor
(they split the predecessor's width in halves, the second starting where the first ends).
"""

from __future__ import annotations

import numpy as np

from skybase.i3.archive import ArchiveReader
from skybase.i3.pulses import FLAG_ATWD, FLAG_FADC, FLAG_LC, PulseSeries

T_MIN_NS = -512.0
_MAX_TIME_HEADER = (1 << 11) - 1
_MAX_TIME = (1 << 8) - 1
_MAX_CHARGE = (1 << 6) - 1
_OVERFLOW_CONTINUES = 0xFFFF
_LOG_STEP = 9.0 / ((1 << 14) - 1)


class SuperDSTError(ValueError):
    """The I3SuperDST streams are inconsistent (a stamp or width missing, bytes left over)."""


def _size_code(reader: ArchiveReader) -> int:
    reader.class_info("I3SuperDSTUtils::SizeCodec")
    tag = reader.u8("size tag")
    if tag < 0xFF - 8:
        return tag
    n = 0xFF - tag
    raw = reader.take(n, "size bytes")
    return int.from_bytes(raw, "little")


def _compact_vector(reader: ArchiveReader, element: str, itemsize: int) -> bytes:
    reader.class_info(f"CompactVector<{element}>")
    size = _size_code(reader)
    return reader.take(size * itemsize, f"{element} contents")


def decode_runs(codes: bytes) -> list[int]:
    """The 4-bit values of a run-length coded width stream."""
    out: list[int] = []
    i, n = 0, len(codes)
    while i < n:
        code = codes[i] & 0xF
        length, shift = 0, 0
        while i < n and (codes[i] & 0xF) == code:
            length |= ((codes[i] >> 4) & 0xF) << shift
            shift += 4
            i += 1
        out.extend([code] * length)
    return out


def read_superdst(reader: ArchiveReader, version: int) -> PulseSeries:
    """The pulses of an I3SuperDST whose class preamble has been read (``version`` is its class version)."""
    if version != 1:
        raise reader.fail(f"I3SuperDST class version {version} (only version 1 is read)")
    reader.class_info("I3FrameObject")
    stamps = np.frombuffer(_compact_vector(reader, "ChargeStamp", 2), dtype="<u2").tolist()
    headers = np.frombuffer(_compact_vector(reader, "DOMHeader", 2), dtype="<u2").tolist()
    widths = [decode_runs(_compact_vector(reader, "uint8", 1)) for _ in range(4)]
    extra = _compact_vector(reader, "uint8", 1)
    try:
        return _unpack(stamps, headers, widths, extra)
    except (IndexError, SuperDSTError) as exc:
        raise reader.fail(f"I3SuperDST streams inconsistent ({exc})") from None


def _unpack(stamps: list[int], headers: list[int], widths: list[list[int]], extra: bytes) -> PulseSeries:
    width_pos = [0, 0, 0, 0]
    extra_pos = 0
    s = 0  # cursor in the stamp stream
    t_ref = T_MIN_NS
    # per DOM: list of [time, charge, width code, flags]
    doms: dict[tuple[int, int], list[tuple[float, float, int, int]]] = {}
    for header in headers:
        dom_id = header & 0x1FFF
        string, om = (dom_id >> 6) & 0x7F, (dom_id & 0x3F) + 1
        icetop = om > 60
        stamp = stamps[s]
        hlc = bool(stamp & 0x4000)
        stop = bool(stamp & 0x8000)
        stream = 2 * icetop + hlc
        timecode = (stamp & 0xFF) | ((header >> 13) << 8)
        chargecode = (stamp >> 8) & 0x3F
        if timecode == _MAX_TIME_HEADER:
            while True:
                s += 1
                timecode += stamps[s]
                if stamps[s] != _OVERFLOW_CONTINUES:
                    break
        if not icetop and chargecode == _MAX_CHARGE:
            while True:
                s += 1
                chargecode += stamps[s]
                if stamps[s] != _OVERFLOW_CONTINUES:
                    break
        elif icetop:
            chargecode |= extra[extra_pos] << 6
            extra_pos += 1
        first_width = widths[stream][width_pos[stream]]
        width_pos[stream] += 1
        flags = FLAG_FADC | (FLAG_LC | FLAG_ATWD if hlc else 0)
        t_ref += float(timecode)
        charge = 10.0 ** (chargecode * _LOG_STEP - 2.0) if icetop else chargecode * 0.05 + 0.025
        pulses = doms.setdefault((string, om), [])
        pulses.append((t_ref, charge, first_width, flags))
        t_internal = t_ref
        while not stop:
            s += 1
            stamp = stamps[s]
            if bool(stamp & 0x4000) != hlc:
                raise SuperDSTError(f"stamp {s} changes the LC bit inside a readout of ({string},{om})")
            if icetop:
                raise SuperDSTError(f"IceTop readout of ({string},{om}) has more than one stamp")
            stop = bool(stamp & 0x8000)
            timecode = stamp & 0xFF
            chargecode = (stamp >> 8) & 0x3F
            if timecode == _MAX_TIME:
                while True:
                    s += 1
                    timecode += stamps[s]
                    if stamps[s] != _OVERFLOW_CONTINUES:
                        break
            if chargecode == _MAX_CHARGE:
                while True:
                    s += 1
                    chargecode += stamps[s]
                    if stamps[s] != _OVERFLOW_CONTINUES:
                        break
            width = widths[stream][width_pos[stream]]
            width_pos[stream] += 1
            t_internal += float(timecode)
            # with IceTray's default (use_width_for_atwd_flag off) every HLC pulse is LC|ATWD|FADC
            pulses.append((t_internal, chargecode * 0.05 + 0.025, width, flags))
        s += 1
    if s != len(stamps):
        raise SuperDSTError(f"{len(stamps) - s} charge stamps left after the last readout")
    return _to_series(doms)


def _to_series(doms: dict[tuple[int, int], list[tuple[float, float, int, int]]]) -> PulseSeries:
    strings: list[int] = []
    oms: list[int] = []
    times: list[float] = []
    charges: list[float] = []
    widths_out: list[float] = []
    flags_out: list[int] = []
    for string, om in sorted(doms):
        pulses = sorted(doms[(string, om)], key=lambda p: p[0])  # stable, like a time ordering
        t = [p[0] for p in pulses]
        # widths are float32 in I3RecoPulse
        w = [float(np.float32(2.0 ** p[2])) for p in pulses]
        _remove_overlaps(t, w)
        strings.extend([string] * len(pulses))
        oms.extend([om] * len(pulses))
        times.extend(t)
        charges.extend(p[1] for p in pulses)
        widths_out.extend(w)
        flags_out.extend(p[3] for p in pulses)
    return PulseSeries(
        np.asarray(strings, dtype=np.int16),
        np.asarray(oms, dtype=np.int16),
        np.asarray(times, dtype=np.float64),
        np.asarray(charges, dtype=np.float32),
        np.asarray(widths_out, dtype=np.float32),
        np.asarray(flags_out, dtype=np.uint8),
    )


def _f32(x: float) -> float:
    return float(np.float32(x))


def _remove_overlaps(t: list[float], w: list[float]) -> None:
    """IceTray's rule, in place: cut each width to the next pulse; merge zero-width pulses backwards."""
    n = len(t)
    prev = -1
    merge = False
    cur = 0
    while cur + 1 < n:
        w[cur] = min(w[cur], _f32(t[cur + 1] - t[cur]))
        if w[cur] == 0.0 or merge:
            if prev >= 0:
                if w[prev] == 0.0 and w[cur] > 0.0:
                    w[prev] = w[cur]
                w[cur] = _f32(w[prev] / 2.0)
                w[prev] = _f32(w[prev] / 2.0)
                t[cur] = t[prev] + w[prev]
                merge = False
            else:
                merge = True
        else:
            merge = False
        prev = cur
        cur += 1
    if merge and prev >= 0:
        if w[prev] == 0.0 and w[cur] > 0.0:
            w[prev] = w[cur]
        w[cur] = _f32(w[prev] / 2.0)
        w[prev] = _f32(w[prev] / 2.0)
        t[cur] = t[prev] + w[prev]
