"""The safe unpickler of the frames in a realtime event message.

Each entry of ``value.data.frames`` is ``[stream letter, base64(zlib(pickle))]``; the pickle (protocol 2)
holds one IceTray ``I3Frame`` whose state is the frame's own binary serialisation. Two variants exist:

- ``2021a``: ``icecube.icetray.I3Frame``, state ``({}, <Python 2 str>)``: read with ``encoding="bytes"``;
- ``2023a``: ``icecube._icetray.I3Frame``, state ``({}, _codecs.encode(<str>, "latin1"))``.

The unpickler resolves exactly those two class names to :class:`PickledFrame` (a stand-in that keeps the
bytes) and ``_codecs.encode`` to a function that only encodes a ``str`` as latin1; every other global is
refused, so a message cannot make the reader import or call anything.
"""

from __future__ import annotations

import base64
import binascii
import io
import pickle
import zlib
from typing import Any

#: (module, name) of the I3Frame class in the two message variants
FRAME_CLASSES = frozenset({("icecube.icetray", "I3Frame"), ("icecube._icetray", "I3Frame")})


class FramePickleError(ValueError):
    """A frame entry of the message is not a pickled I3Frame this reader accepts."""


class PickledFrame:
    """Stand-in for ``I3Frame`` during unpickling: holds the frame's serialised bytes."""

    def __init__(self) -> None:
        self.blob: bytes = b""

    def __setstate__(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], bytes | bytearray):
            self.blob = bytes(state[1])
            return
        raise FramePickleError(f"I3Frame state: expected (dict, bytes), got {type(state).__name__}")


def _latin1_encode(text: object, encoding: object = "utf-8", errors: object = "strict") -> bytes:
    """What ``_codecs.encode`` may do inside a frame pickle: latin1-encode a str, nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "iso-8859-1"):
        raise FramePickleError(f"_codecs.encode: only str to latin1 is allowed, got encoding {encoding!r}")
    return text.encode("latin1")


class _FrameUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in FRAME_CLASSES:
            return PickledFrame
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise FramePickleError(f"pickle: global {module}.{name} refused (only I3Frame may be unpickled)")


def unpickle_frame(data: bytes, where: str = "frame") -> bytes:
    """The serialised I3Frame inside one pickle (``data`` already inflated)."""
    try:
        obj = _FrameUnpickler(io.BytesIO(data), encoding="bytes").load()
    except FramePickleError as exc:
        raise FramePickleError(f"{where}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise FramePickleError(f"{where}: not a readable pickle ({exc})") from None
    if not isinstance(obj, PickledFrame) or not obj.blob:
        raise FramePickleError(f"{where}: the pickle holds {type(obj).__name__}, not an I3Frame with state")
    return obj.blob


def decode_frame_entry(entry: object, where: str) -> tuple[str, bytes]:
    """``[stream letter, base64(zlib(pickle))]`` -> (stream letter, serialised frame)."""
    if not (isinstance(entry, list | tuple) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
        raise FramePickleError(f"{where}: expected [stream letter, base64 text], got {str(entry)[:60]!r}")
    stream, text = entry
    try:
        packed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FramePickleError(f"{where}: not base64 ({exc})") from None
    try:
        raw = zlib.decompress(packed)
    except zlib.error as exc:
        raise FramePickleError(f"{where}: not zlib data ({exc})") from None
    return stream, unpickle_frame(raw, where)
