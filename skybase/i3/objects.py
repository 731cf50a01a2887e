"""Decoding the objects of a frame by their exported class name; unknown classes are listed, not fatal.

Each object buffer is one archive: a ``shared_ptr<I3FrameObject>`` (class information: untracked,
version 1), then the polymorphic pointer (class id 2, the exported class name, its class information and
object id: boost has already registered the shared_ptr as id 0 and the ``I3FrameObject`` pointer as id 1),
then the object. Every decoder must consume its buffer exactly; leftover bytes are an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skybase.i3.archive import ArchiveError, ArchiveReader
from skybase.i3.frame import FrameSlot, RawFrame
from skybase.i3.masks import read_mask
from skybase.i3.particle import read_event_header, read_particle
from skybase.i3.superdst import read_superdst


@dataclass(frozen=True)
class TimeWindow:
    start: float
    stop: float


def _holder(read: Callable[[ArchiveReader], Any]) -> Callable[[ArchiveReader, int], Any]:
    def decode(reader: ArchiveReader, version: int) -> Any:
        reader.class_info("I3FrameObject")
        return read(reader)

    return decode


def _position(reader: ArchiveReader) -> tuple[float, float, float]:
    return reader.f64("X"), reader.f64("Y"), reader.f64("Z")


def _time_window(reader: ArchiveReader) -> TimeWindow:
    return TimeWindow(reader.f64("Start"), reader.f64("Stop"))


#: exported class name -> decoder(reader, class version)
DECODERS: dict[str, Callable[[ArchiveReader, int], Any]] = {
    "I3SuperDST": read_superdst,
    "I3RecoPulseSeriesMapMask": read_mask,
    "I3Particle": read_particle,
    "I3EventHeader": read_event_header,
    "I3Double": _holder(lambda r: r.f64("value")),
    "I3Bool": _holder(lambda r: r.boolean("value")),
    "I3Int": _holder(lambda r: r.i32("value")),
    "I3String": _holder(lambda r: r.text("value")),
    "I3Position": _holder(_position),
    "I3TimeWindow": _holder(_time_window),
}


def exported_class(slot: FrameSlot, where: str) -> tuple[ArchiveReader, str | None, int]:
    """Open a slot's archive up to its object: (reader, exported class name or None, class version)."""
    reader = ArchiveReader(slot.buf, where, base_offset=slot.offset)
    reader.class_info("boost::shared_ptr<I3FrameObject>")
    reader.register("boost::shared_ptr<I3FrameObject>")
    reader.register("I3FrameObject")
    name, version = reader.pointer()
    return reader, name, version


def decode_slot(slot: FrameSlot, frame_name: str) -> tuple[str | None, Any]:
    """(exported class name, decoded value); raises :class:`KeyError` for a class with no decoder."""
    where = f"{frame_name}, key {slot.key!r}"
    reader, name, version = exported_class(slot, where)
    if name is None:
        return None, None
    decoder = DECODERS.get(name)
    if decoder is None:
        raise KeyError(name)
    value = decoder(reader, version)
    if not reader.at_end():
        raise reader.fail(f"{reader.remaining()} bytes left after the {name}")
    return name, value


@dataclass
class DecodedFrame:
    """A frame's objects: ``objects`` (key -> value) for known classes, ``unknown`` (key -> type name)."""

    stream: str
    objects: dict[str, Any] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)  # key -> exported class name
    unknown: dict[str, str] = field(default_factory=dict)
    raw: RawFrame | None = None


def decode_frame(frame: RawFrame, frame_name: str) -> DecodedFrame:
    out = DecodedFrame(frame.stream, raw=frame)
    for slot in frame.slots:
        try:
            name, value = decode_slot(slot, frame_name)
        except KeyError as exc:
            out.unknown[slot.key] = f"{slot.type_name} ({exc.args[0]})"
            continue
        except ArchiveError:
            raise
        if name is None:
            out.unknown[slot.key] = f"{slot.type_name} (null pointer)"
            continue
        out.objects[slot.key] = value
        out.classes[slot.key] = name
    return out
