"""A local ``skyscan serve`` in a child process, for the demo (skymist reaches skyscan over HTTP only).

The child is the installed ``skyscan`` command (``python -m skyscan.server`` where the script is not
beside this interpreter), on a free loopback port, configured through ``SKYSCAN_*`` variables; it
is ready when it prints ``skyscan serving on URL``. The token travels in the environment, never on
the command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path

READY_PREFIX = "skyscan serving on "


def skyscan_command() -> list[str]:
    script = Path(sys.executable).with_name("skyscan")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "skyscan.server"]


class ScannerProcess:
    """Use as a context manager; ``url`` is set once the service accepts requests."""

    def __init__(self, settings: Mapping[str, str], start_timeout_s: float = 60.0) -> None:
        """``settings``: skyscan setting names and values (e.g. ``{"workers": "2"}``)."""
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SKYSCAN_")}
        self.env.update({f"SKYSCAN_{name.upper()}": value for name, value in settings.items()})
        self.start_timeout_s = start_timeout_s
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._stderr: deque[str] = deque(maxlen=20)

    def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.rstrip())

    def __enter__(self) -> ScannerProcess:
        self.process = subprocess.Popen(
            [*skyscan_command(), "serve", "--host", "127.0.0.1", "--port", "0"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._drain_stderr, name="skyscan-stderr", daemon=True).start()
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                return self
            if not line and self.process.poll() is not None:
                break
        self.__exit__()
        last = " | ".join(self._stderr) or "no output"
        raise RuntimeError(f"skyscan did not start within {self.start_timeout_s:.0f} s: {last}")

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
