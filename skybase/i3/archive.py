"""Reading IceTray's portable binary archive (its variant of a boost binary archive), little-endian.

Rules (learnt from IceTray's public ``portable_binary_archive`` and boost's basic archive):

- integers and floats are raw little-endian; ``bool`` is one byte;
- a *version* is one byte, 0xFF escaping to a following uint64; a *collection size* and a *string length*
  are a uint32, 0xFFFFFFFF escaping to a following uint64; a string is its length then its bytes;
- class-id is int16, object-id uint32, tracking flag one byte;
- *class information* (tracking flag, version) precedes the first object of each class in one archive
  and is not repeated for later objects of that class (boost's class-tracking rule); classes with
  implementation level "primitive" or "object_serializable" (e.g. ``OMKey`` in a map key, POD vectors)
  carry none;
- a pointer is a class-id (-1 = null); a class-id not yet registered introduces the class: its exported
  name (for a polymorphic class), then its class information, then, when tracked, the object-id.

Every frame object is its own archive (``T``, a ``shared_ptr<I3FrameObject>``). Errors name the frame,
the key and the byte offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

_U8 = struct.Struct("<B")
_I16 = struct.Struct("<h")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


class ArchiveError(ValueError):
    """A serialised object cannot be read: names the frame, the key and the offset."""


@dataclass
class ClassInfo:
    tracking: bool
    version: int


@dataclass
class ArchiveReader:
    """A cursor over one archive buffer; ``where`` names it in errors (``P frame, key 'X'``)."""

    buf: bytes
    where: str
    pos: int = 0
    base_offset: int = 0  # offset of ``buf`` inside the whole frame, for error messages
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    class_ids: list[str] = field(default_factory=list)

    def fail(self, what: str) -> ArchiveError:
        return ArchiveError(f"{self.where}: {what} at offset {self.base_offset + self.pos}")

    def take(self, n: int, what: str = "data") -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise self.fail(f"truncated: {what} needs {n} bytes, {len(self.buf) - self.pos} left")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def _unpack(self, fmt: struct.Struct, what: str) -> int | float:
        if self.pos + fmt.size > len(self.buf):
            raise self.fail(f"truncated: {what} needs {fmt.size} bytes, {len(self.buf) - self.pos} left")
        (value,) = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return value  # type: ignore[no-any-return]

    def u8(self, what: str = "uint8") -> int:
        return int(self._unpack(_U8, what))

    def i16(self, what: str = "int16") -> int:
        return int(self._unpack(_I16, what))

    def u16(self, what: str = "uint16") -> int:
        return int(self._unpack(_U16, what))

    def i32(self, what: str = "int32") -> int:
        return int(self._unpack(_I32, what))

    def u32(self, what: str = "uint32") -> int:
        return int(self._unpack(_U32, what))

    def i64(self, what: str = "int64") -> int:
        return int(self._unpack(_I64, what))

    def u64(self, what: str = "uint64") -> int:
        return int(self._unpack(_U64, what))

    def f32(self, what: str = "float") -> float:
        return float(self._unpack(_F32, what))

    def f64(self, what: str = "double") -> float:
        return float(self._unpack(_F64, what))

    def boolean(self, what: str = "bool") -> bool:
        return self.u8(what) != 0

    def version(self, what: str = "version") -> int:
        value = self.u8(what)
        return self.u64(what) if value == 0xFF else value

    def count(self, what: str = "collection size") -> int:
        value = self.u32(what)
        if value == 0xFFFFFFFF:
            value = self.u64(what)
        if value > len(self.buf) - self.pos + 64 and value > 1 << 24:
            raise self.fail(f"{what} {value} is larger than the buffer")
        return value

    def string(self, what: str = "string") -> bytes:
        return self.take(self.count(f"{what} length"), what)

    def text(self, what: str = "string") -> str:
        return self.string(what).decode("utf-8", errors="replace")

    def array(self, dtype: str, n: int, what: str) -> npt.NDArray[np.generic]:
        itemsize = np.dtype(dtype).itemsize
        return np.frombuffer(self.take(n * itemsize, what), dtype=dtype).copy()

    def class_info(self, name: str) -> int:
        """Start an object of class ``name`` stored by value; returns its class version.

        The first object of a class in this archive carries (tracking flag, version); a tracked class
        (one also serialised through pointers, e.g. every ``I3FrameObject``) carries an object-id on
        every object.
        """
        info = self.classes.get(name)
        if info is None:
            tracking = self.boolean(f"{name} tracking flag")
            info = ClassInfo(tracking, self.version(f"{name} class version"))
            self.classes[name] = info
        if info.tracking:
            self.u32(f"{name} object id")
        return info.version

    def register(self, name: str) -> None:
        """Count a class that boost registers without writing its id (e.g. the shared_ptr, the base)."""
        self.class_ids.append(name)

    def pointer(self) -> tuple[str | None, int]:
        """Read a polymorphic pointer's preamble: (exported class name or None for null, class version)."""
        cid = self.i16("class id")
        if cid == -1:
            return None, 0
        if cid < 0 or cid > len(self.class_ids):
            raise self.fail(f"class id {cid} out of sequence ({len(self.class_ids)} known)")
        if cid == len(self.class_ids):
            name = self.text("class name")
            self.class_ids.append(name)
            info = ClassInfo(self.boolean(f"{name} tracking flag"), self.version(f"{name} class version"))
            self.classes[name] = info
        else:
            name = self.class_ids[cid]
            info = self.classes[name]
        if info.tracking:
            self.u32("object id")
        return name, info.version

    def at_end(self) -> bool:
        return self.pos == len(self.buf)

    def remaining(self) -> int:
        return len(self.buf) - self.pos
