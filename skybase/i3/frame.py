"""IceTray frames, serialisation version 6, parsed without IceTray.

Layout (little-endian): the tag ``[i3]``; the version (uint32, 6); the stream (an ``I3Frame::Stream``
object: class information, then its letter as one byte); the number of objects (uint32); per object its
key, its type name (strings: uint32 length + bytes) and its buffer (uint32 size + bytes, itself a
portable binary archive of one ``shared_ptr<I3FrameObject>``); then the CRC-32C of the stream letter, the
object count and every (length, bytes) of key, type name and buffer, in that order. The version is not
checksummed.

:func:`parse_frame` checks all of it and returns the raw slots; :mod:`skybase.i3.objects` decodes them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from skybase.i3.archive import ArchiveError, ArchiveReader
from skybase.i3.crc32c import crc32c_register as crc32c

FRAME_TAG = b"[i3]"
FRAME_VERSION = 6


class FrameError(ArchiveError):
    """A frame is corrupt: bad tag or version, truncated, or its checksum does not match."""


@dataclass(frozen=True)
class FrameSlot:
    """One object of a frame as stored: key, type name, serialised buffer, and where the buffer starts."""

    key: str
    type_name: str
    buf: bytes
    offset: int


@dataclass(frozen=True)
class RawFrame:
    stream: str
    slots: tuple[FrameSlot, ...]
    checksum: int  # as stored, equal to the computed CRC-32C

    def slot(self, key: str) -> FrameSlot:
        for slot in self.slots:
            if slot.key == key:
                return slot
        raise KeyError(f"{self.stream} frame: no key {key!r} (keys: {[s.key for s in self.slots]})")

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.slots]


def parse_frame(data: bytes, name: str = "frame", *, verify: bool = True) -> RawFrame:
    """Parse a version-6 frame; ``name`` (e.g. ``"P frame"``) prefixes every error."""
    reader = ArchiveReader(data, name)
    tag = reader.take(4, "frame tag")
    if tag != FRAME_TAG:
        raise FrameError(f"{name}: tag {tag!r} is not {FRAME_TAG!r} at offset 0")
    version = reader.u32("frame version")
    if version != FRAME_VERSION:
        raise FrameError(f"{name}: version {version} (only version {FRAME_VERSION} is read) at offset 4")
    reader.class_info("I3Frame::Stream")
    stream_byte = reader.take(1, "stream letter")
    nslots = reader.u32("object count")
    crc = crc32c(struct.pack("<I", nslots), crc32c(stream_byte))
    slots: list[FrameSlot] = []
    for index in range(nslots):
        reader.where = f"{name}, object #{index}"
        key_bytes = reader.string("key")
        key = key_bytes.decode("utf-8", "replace")
        reader.where = f"{name}, key {key!r}"
        type_bytes = reader.string("type name")
        size = reader.count("buffer size")
        offset = reader.pos
        buf = reader.take(size, "object buffer")
        if verify:
            for part in (key_bytes, type_bytes, buf):
                crc = crc32c(part, crc32c(struct.pack("<I", len(part)), crc))
        slots.append(FrameSlot(key, type_bytes.decode("utf-8", "replace"), buf, offset))
    reader.where = name
    stored = reader.u32("checksum")
    if not reader.at_end():
        raise FrameError(
            f"{name}: {reader.remaining()} unexpected bytes after the checksum at offset {reader.pos}"
        )
    if verify and stored != crc:
        raise FrameError(
            f"{name}: CRC-32C mismatch: stored {stored:#010x}, computed {crc:#010x} "
            f"over bytes 8-{len(data) - 4}"
        )
    return RawFrame(stream_byte.decode("latin1"), tuple(slots), stored)
