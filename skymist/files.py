"""Atomic file writes: a temporary file in the target directory, fsync, then ``os.replace``.

Product files are public (a web server serves ``healpix_url``, people read the Circular files): they
are written mode 0644 and the folders made for them 0755, whatever the process umask, because the
temporary file of :func:`tempfile.mkstemp` is private (0600) until it is given its mode.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PUBLIC_DIR_MODE",
    "PUBLIC_FILE_MODE",
    "PathOutsideRootError",
    "WrittenFile",
    "make_public_dir",
    "path_inside",
    "write_atomic",
]

#: mode of a written product file: readable by everyone (the web server, shifters)
PUBLIC_FILE_MODE = 0o644
#: mode of a folder made for product files
PUBLIC_DIR_MODE = 0o755


class PathOutsideRootError(ValueError):
    """A path built from data (an alert's name, a message key, a file named in a record) that would
    leave the folder it must stay in. The message names the root and the offending part."""


def _part_problem(part: str) -> str | None:
    if not part:
        return "is empty"
    if "\x00" in part:
        return "holds a NUL character"
    if "\\" in part:
        return "holds a backslash (a Windows path separator)"
    if part.startswith("/"):
        return "is an absolute path"
    if ".." in part.split("/"):
        return "climbs up with '..'"
    return None


def path_inside(root: str | Path, *parts: str) -> Path:
    """``root / parts[0] / parts[1] ...``, refused unless it stays inside ``root``.

    The one gate of every file-system path built from data: each part is a relative path (one or more
    names joined by ``/``); a part that is empty, absolute, holds ``..``, a NUL or a backslash is
    refused, and so is a result that, with every symlink followed (``root``'s own included), is not
    ``root`` or below it: a symlink inside the root that points outside is refused too. Raises
    :class:`PathOutsideRootError` naming the root and the part; returns the joined (unresolved) path.
    Parts that name ``root`` itself (``"."``) are refused: data always names something inside it.

    A check, not a lock: a symlink planted after the call is not seen (the folders it guards are
    written only by SkyMist).
    """
    base = Path(root)
    for part in parts:
        problem = _part_problem(part)
        if problem is not None:
            raise PathOutsideRootError(f"path part {part[:80]!r} under {str(base)!r} {problem}")
    candidate = base.joinpath(*parts)
    shown = "/".join(parts)[:80]
    try:
        real_root = base.resolve()
        real = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise PathOutsideRootError(f"path {shown!r} under {str(base)!r} cannot be resolved ({exc})") from None
    if parts and real == real_root:
        raise PathOutsideRootError(f"path {shown!r} under {str(base)!r} names that folder itself")
    if real != real_root and real_root not in real.parents:
        raise PathOutsideRootError(
            f"path {shown!r} under {str(base)!r} leads to {str(real)!r}, outside that folder "
            "(a symlink points out)"
        )
    return candidate


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


def make_public_dir(folder: str | Path, mode: int = PUBLIC_DIR_MODE) -> Path:
    """Make ``folder`` and any missing parents with ``mode`` (not narrowed by the umask)."""
    target = Path(folder)
    missing: list[Path] = []
    probe = target
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    target.mkdir(parents=True, exist_ok=True)
    for made in missing:
        os.chmod(made, mode)
    return target


def write_atomic(
    path: str | Path,
    data: bytes,
    media_type: str = "application/octet-stream",
    *,
    mode: int = PUBLIC_FILE_MODE,
) -> WrittenFile:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    The file gets ``mode`` (default 0644, public) before it takes the final name, so no reader ever
    sees it with another mode; folders made on the way get 0755."""
    target = Path(path)
    make_public_dir(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return WrittenFile(
        path=target, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), media_type=media_type
    )
