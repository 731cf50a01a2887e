"""The dummy reco's gate: holds a scan's fits after its first N until whoever steers lets them through.

It lets a test walk a real scan (REST submit, ``skyscan serve``, pixel workers in-process or over
RabbitMQ) through its milestones without racing the machine: the scan holds at N pixels, the test
looks at the partial state (progress, partial result, scan state), then releases it. As the Skymap
Scanner's ``crash_dummy`` is steered by environment variables, the gate is a directory named by
:data:`GATE_DIR_ENV` in the environment of the processes that fit pixels: ``skyscan serve`` puts its
``dummy_gate_dir`` setting there for its own workers; give it to ``skyscan worker`` processes in
their environment. The scan request does not change (the wire stays SkyDriver's), and no other reco
ever looks at the gate.

Files in the directory:

``limit``
    written by whoever steers: a whole number N (ASCII digits). Each scan's first N fits pass; its
    later ones wait (at the start of the fit) until N is raised above their turn or the file is
    removed. No file: nothing waits. Write it whole (write another file, then rename it over).
``<scan_id>.fits``
    written by the gate: how many fits of the scan have reached it (passed or waiting), counted
    under an exclusive lock, so workers in several processes share one count. A redelivered task
    (after a timeout or a dead worker) counts again. ``fits > limit`` means a fit is waiting.

A fit waiting at the gate is fit time for ``max_pixel_reco_time``: a test that holds a scan longer
than that sees the held fit abandoned and redelivered (and waiting again).
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

#: the environment variable naming the gate directory (empty or unset: no gate)
GATE_DIR_ENV = "SKYSCAN_DUMMY_GATE_DIR"
LIMIT_FILE = "limit"
COUNT_SUFFIX = ".fits"
#: seconds between two looks at ``limit`` while a fit waits
POLL_S = 0.02
#: what a scan id must look like to name a file (SkyDriver's ids and skyscan's own test ids do)
_SCAN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")


class GateError(RuntimeError):
    """The gate cannot be used: a bad directory, limit file or scan id (the message names which)."""


def check_gate_dir(value: str | os.PathLike[str], what: str = GATE_DIR_ENV) -> Path:
    """``value`` as the gate directory: an absolute path of an existing directory, else GateError."""
    path = Path(value)
    if not path.is_absolute():
        raise GateError(f"{what}: expected an absolute path of a directory, got {str(value)!r}")
    if not path.is_dir():
        raise GateError(f"{what}: {str(value)!r} is not an existing directory")
    return path


class PixelGate:
    """One process's handle on the gate directory (see the module docstring for the files)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PixelGate | None:
        """The gate named by :data:`GATE_DIR_ENV`, None when it is unset or empty."""
        value = (os.environ if environ is None else environ).get(GATE_DIR_ENV, "")
        return cls(check_gate_dir(value)) if value else None

    def limit(self) -> int | None:
        """The number of fits each scan may pass, None when nothing is held."""
        path = self.directory / LIMIT_FILE
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise GateError(f"{path}: unreadable: {exc}") from exc
        if not text.isdigit():
            raise GateError(f"{path}: expected a whole number of fits, got {text[:40]!r}")
        return int(text)

    def take_turn(self, scan_id: str) -> int:
        """Count one more fit of ``scan_id`` at the gate; its turn (0 for the scan's first fit)."""
        if not _SCAN_ID.fullmatch(scan_id):
            raise GateError(f"scan_id: {scan_id[:120]!r} cannot name a gate file (letters, digits, _ . -)")
        path = self.directory / f"{scan_id}{COUNT_SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            text = os.read(fd, 32).decode("ascii", "replace").strip()
            turn = int(text) if text.isdigit() else 0
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, str(turn + 1).encode())
        finally:
            os.close(fd)  # releases the lock
        return turn

    def open_for(self, turn: int) -> bool:
        limit = self.limit()
        return limit is None or turn < limit

    def pass_through(self, scan_id: str) -> int:
        """Take the fit's turn and return once the gate lets it through; returns the turn."""
        turn = self.take_turn(scan_id)
        while not self.open_for(turn):
            time.sleep(POLL_S)
        return turn
