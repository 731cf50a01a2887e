"""A local ``skyscan serve`` in a child process, for the demo (skymist reaches skyscan over HTTP only).

The child is the installed ``skyscan`` command (``python -m skyscan.server`` where the script is not
beside this interpreter), on a free loopback port, configured through ``SKYSCAN_*`` variables; it
is ready when it prints ``skyscan serving on URL``. The token travels in the environment, never on
the command line.

The child dies with its parent, however the parent ends: a parent that exits normally, by an
exception or by SIGTERM/SIGINT (the demo turns those into KeyboardInterrupt) stops it in
``__exit__``; one killed outright (SIGKILL, a crash) has it killed by the kernel, which the child
asked for between fork and exec (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

READY_PREFIX = "skyscan serving on "

#: prctl(2) option: the signal the kernel sends this process when the thread that forked it ends
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when its parent dies (Linux), or None
    where there is no ``prctl``. libc is looked up here, in the parent: the function that runs in
    the forked child only calls it and compares two pids (nothing that allocates or takes a lock).

    PR_SET_PDEATHSIG follows the *thread* that started the child: start it from a thread that lives
    as long as the child should (the main thread)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the death signal was armed
            os._exit(1)

    return in_child


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
            preexec_fn=die_with_parent(),  # only prctl and getppid run in the forked child
        )
        threading.Thread(target=self._drain_stderr, name="skyscan-stderr", daemon=True).start()
        try:
            if self._wait_ready():
                return self
        except BaseException:  # Ctrl-C or SIGTERM while it starts: no child left behind
            self.__exit__()
            raise
        self.__exit__()
        last = " | ".join(self._stderr) or "no output"
        raise RuntimeError(f"skyscan did not start within {self.start_timeout_s:.0f} s: {last}")

    def _wait_ready(self) -> bool:
        """Read the child's output until it says where it serves (True), ends or the time is up."""
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                return True
            if not line and self.process.poll() is not None:
                return False
        return False

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # stuck, or a second Ctrl-C / SIGTERM
            self.process.kill()
            self.process.wait(timeout=10)
