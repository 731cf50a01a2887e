"""The test's side of the dummy reco's gate (``skyscan/recos/dummy_gate.py``): hold real scans after N
fits, look at their partial state, release them. It only writes and reads the gate directory's files,
as documented there; the service and its workers (in-process or ``skyscan worker`` over RabbitMQ) see
the directory through ``SKYSCAN_DUMMY_GATE_DIR``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

GATE_DIR_ENV = "SKYSCAN_DUMMY_GATE_DIR"


class PixelGate:
    """A gate directory: :meth:`hold` each scan after ``n`` fits, :meth:`release` them all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        """The environment naming this gate, for workers started by a test."""
        return {GATE_DIR_ENV: str(self.directory)}

    def hold(self, after: int) -> None:
        """From now on each scan's fits after its first ``after`` wait (raising it lets more through)."""
        staged = self.directory / "limit.staged"
        staged.write_text(str(after), encoding="ascii")
        os.replace(staged, self.directory / "limit")  # the workers never read half a number

    def release(self) -> None:
        """Let every fit through, waiting ones included."""
        (self.directory / "limit").unlink(missing_ok=True)

    def fits(self, scan_id: str) -> int:
        """How many fits of ``scan_id`` reached the gate (passed or waiting)."""
        path = self.directory / f"{scan_id}.fits"
        text = path.read_text(encoding="ascii").strip() if path.exists() else ""
        return int(text) if text else 0

    def waiting(self, scan_id: str, after: int) -> bool:
        """Whether a fit of ``scan_id`` waits at a gate holding it after ``after`` fits."""
        return self.fits(scan_id) > after


@contextlib.contextmanager
def released_before_and_after(gate: PixelGate) -> Iterator[PixelGate]:
    """``gate`` open when the test starts and again when it ends, whatever the test held."""
    gate.release()
    try:
        yield gate
    finally:
        gate.release()
