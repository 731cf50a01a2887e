"""``I3RecoPulseSeriesMapMask`` (class versions 0-2): a selection of pulses from another pulse map.

A mask names its source (another mask or a pulse map) and holds an *OM-key mask* (one bit per DOM key of
the source map, in map order) and one *element mask* per set bit (one bit per pulse of that DOM). A bit
mask is serialised as uint16 byte count, uint8 padding (unused high bits of the last byte) and the bytes,
least significant bit first. Version 1 also stores a float time reference, which is read and ignored.
Applying a chain of masks walks the sources down to the pulse map and applies the selections upwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from skybase.i3.archive import ArchiveReader
from skybase.i3.pulses import PulseSeries


class MaskError(ValueError):
    """A mask does not fit the map it is applied to, or its chain of sources is broken."""


@dataclass(frozen=True)
class Bitmask:
    nbits: int
    bits: npt.NDArray[np.bool_]

    @classmethod
    def read(cls, reader: ArchiveReader, what: str) -> Bitmask:
        reader.class_info("I3RecoPulseSeriesMapMask::bitmask")
        size = reader.u16(f"{what} byte count")
        padding = reader.u8(f"{what} padding")
        raw = np.frombuffer(reader.take(size, f"{what} bits"), dtype=np.uint8)
        nbits = size * 8 - padding
        if nbits < 0:
            raise reader.fail(f"{what}: padding {padding} exceeds {size} bytes")
        bits = np.unpackbits(raw, bitorder="little")[:nbits].astype(bool)
        return cls(nbits, bits)


@dataclass(frozen=True)
class PulseMask:
    """A decoded mask: its source key, OM-key mask and the element masks of the set OM keys."""

    source: str
    omkeys: Bitmask
    elements: tuple[Bitmask, ...]

    def apply(self, source: PulseSeries, where: str = "mask") -> PulseSeries:
        """The pulses of ``source`` (the map this mask was made from) that this mask selects."""
        starts = source.dom_starts()
        n_doms = starts.size - 1
        if self.omkeys.nbits != n_doms:
            raise MaskError(
                f"{where}: made from a map with {self.omkeys.nbits} DOMs, but {self.source!r} has {n_doms}"
            )
        keep = np.zeros(len(source), dtype=bool)
        chosen = np.flatnonzero(self.omkeys.bits)
        if chosen.size != len(self.elements):
            raise MaskError(
                f"{where}: {chosen.size} DOMs selected but {len(self.elements)} element masks stored"
            )
        for element, dom in zip(self.elements, chosen, strict=True):
            lo, hi = int(starts[dom]), int(starts[dom + 1])
            if element.nbits != hi - lo:
                raise MaskError(
                    f"{where}: element mask of DOM #{dom} has {element.nbits} bits, "
                    f"the DOM has {hi - lo} pulses"
                )
            keep[lo:hi] = element.bits
        return source.select(keep)


def read_mask(reader: ArchiveReader, version: int) -> PulseMask:
    if version > 2:
        raise reader.fail(f"I3RecoPulseSeriesMapMask class version {version} (versions 0-2 are read)")
    reader.class_info("I3FrameObject")
    source = reader.text("mask source key")
    if version == 1:
        reader.f32("mask time reference")
    omkeys = Bitmask.read(reader, "OM-key mask")
    # a std::vector of bit masks: class information, its size, then the masks (no item version)
    reader.class_info("std::vector<bitmask>")
    count = reader.count("element mask count")
    elements = tuple(Bitmask.read(reader, f"element mask #{i}") for i in range(count))
    if version == 0 and not elements and omkeys.nbits == 64 and bool(omkeys.bits.all()):
        omkeys = Bitmask(0, np.zeros(0, dtype=bool))  # IceTray's fix of an old padding bug
    return PulseMask(source, omkeys, elements)
