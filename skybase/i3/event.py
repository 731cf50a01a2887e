"""The IceTray content of a realtime event message: its frames decoded, pulse maps resolved through masks.

``value.data.frames`` holds the frames G, C, D, Q, P; the physics frame P sees the objects of the DAQ
frame Q (IceTray's frame mixing), so a key is looked up in P, then Q. A pulse map key may name an
``I3SuperDST`` or a mask whose source chain ends at one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skybase.i3.frame import parse_frame
from skybase.i3.masks import PulseMask
from skybase.i3.objects import DecodedFrame, decode_frame
from skybase.i3.particle import EventHeader, Particle
from skybase.i3.pickle import decode_frame_entry
from skybase.i3.pulses import PulseSeries

#: the split in-ice pulse mask, by its name in each message variant (newest first)
SPLIT_PULSE_KEYS = ("SplitInIcePulses", "SplitUncleanedInIcePulses")
#: the online SplineMPE fit, by its name in each message variant
SPLINEMPE_KEYS = ("l2_online_SplineMPE", "OnlineL2_SplineMPE")
_MAX_MASK_DEPTH = 16


class EventFramesError(ValueError):
    """The message's frames lack an object the reader needs (named, with the keys present)."""


@dataclass
class EventFrames:
    """The decoded frames of one message, by stream letter, in message order."""

    frames: dict[str, DecodedFrame]

    @classmethod
    def from_entries(cls, entries: object) -> EventFrames:
        """Decode ``value.data.frames`` (a list of ``[stream letter, base64]``)."""
        if not isinstance(entries, list) or not entries:
            shown = str(entries)[:60]
            raise EventFramesError(f"value.data.frames: expected a non-empty list, got {shown!r}")
        frames: dict[str, DecodedFrame] = {}
        for index, entry in enumerate(entries):
            where = f"value.data.frames[{index}]"
            letter, blob = decode_frame_entry(entry, where)
            raw = parse_frame(blob, f"{letter} frame ({where})")
            if raw.stream != letter:
                raise EventFramesError(
                    f"{where}: labelled {letter!r} but the frame's stream is {raw.stream!r}"
                )
            frames[letter] = decode_frame(raw, f"{letter} frame")
        return cls(frames)

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> EventFrames:
        try:
            entries = message["value"]["data"]["frames"]
        except (KeyError, TypeError):
            raise EventFramesError("value.data.frames: missing") from None
        return cls.from_entries(entries)

    def lookup(self, key: str) -> Any:
        """The object at ``key`` as the P frame sees it (P, then Q)."""
        for letter in ("P", "Q"):
            frame = self.frames.get(letter)
            if frame is not None and key in frame.objects:
                return frame.objects[key]
        present = sorted({k for f in self.frames.values() for k in f.objects})
        raise EventFramesError(f"frames: no object {key!r} (keys: {present})")

    def has(self, key: str) -> bool:
        return any(key in f.objects for f in self.frames.values() if f.stream in "PQ")

    def pulses(self, key: str) -> PulseSeries:
        """The pulse map at ``key``, resolving masks down to their I3SuperDST."""
        chain = [key]
        value = self.lookup(key)
        masks: list[PulseMask] = []
        while isinstance(value, PulseMask):
            masks.append(value)
            if len(masks) > _MAX_MASK_DEPTH:
                raise EventFramesError(f"frames: mask chain {' -> '.join(chain)} is too long (a cycle?)")
            chain.append(value.source)
            value = self.lookup(value.source)
        if not isinstance(value, PulseSeries):
            kind = type(value).__name__
            raise EventFramesError(f"frames: {' -> '.join(chain)} ends at a {kind}, not pulses")
        for depth, mask in enumerate(reversed(masks)):
            value = mask.apply(value, f"mask {chain[len(masks) - 1 - depth]!r}")
        return value

    def split_pulses_key(self) -> str:
        for key in SPLIT_PULSE_KEYS:
            if self.has(key):
                return key
        raise EventFramesError(f"P frame: none of {list(SPLIT_PULSE_KEYS)} present")

    def split_pulses(self) -> PulseSeries:
        """The event's split in-ice pulses (before the online cleaning)."""
        return self.pulses(self.split_pulses_key())

    def particle(self, key: str) -> Particle:
        value = self.lookup(key)
        if not isinstance(value, Particle):
            raise EventFramesError(f"frames: {key!r} is a {type(value).__name__}, not an I3Particle")
        return value

    def particles(self) -> dict[str, Particle]:
        frame = self.frames.get("P")
        if frame is None:
            return {}
        return {k: v for k, v in frame.objects.items() if isinstance(v, Particle)}

    def splinempe(self) -> Particle:
        for key in SPLINEMPE_KEYS:
            if self.has(key):
                return self.particle(key)
        raise EventFramesError(f"P frame: none of {list(SPLINEMPE_KEYS)} present")

    def header(self) -> EventHeader:
        value = self.lookup("I3EventHeader")
        if not isinstance(value, EventHeader):
            raise EventFramesError(f"frames: 'I3EventHeader' is a {type(value).__name__}")
        return value

    def unknown(self) -> dict[str, dict[str, str]]:
        """Per frame, the keys whose class this reader does not decode (key -> type)."""
        return {letter: dict(f.unknown) for letter, f in self.frames.items() if f.unknown}
