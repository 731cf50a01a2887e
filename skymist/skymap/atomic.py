"""Atomic file writes: a temporary file in the target directory, fsync, then ``os.replace``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WrittenFile", "write_atomic"]


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """A file that was written completely, with the sha256 of its bytes."""

    path: Path
    sha256: str
    size_bytes: int
    media_type: str

    def to_dict(self) -> dict[str, str | int]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "media_type": self.media_type,
        }


def write_atomic(path: str | Path, data: bytes, media_type: str = "application/octet-stream") -> WrittenFile:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return WrittenFile(
        path=target, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), media_type=media_type
    )
