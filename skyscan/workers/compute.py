"""Fitting pixel tasks, and the child process that does it under a time limit.

:func:`evaluate` turns a task into an outcome in the calling process. :class:`ComputeProcess` runs
:func:`evaluate` in a child process, so that a fit that overruns ``max_pixel_reco_time`` can be
abandoned for real (the child is killed and replaced) and CPU-bound fits of several workers run in
parallel whatever the GIL does. Both the in-process pool and the RabbitMQ worker use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace

from skyscan.recos import Reco, get_reco
from skyscan.workers.messages import (
    OutcomeKind,
    PixelOutcome,
    PixelTask,
    decode_outcomes,
    decode_tasks,
    encode_outcomes,
    encode_tasks,
)

_PR_SET_PDEATHSIG = 1
_RECO_CACHE_SIZE = 8

#: the child's line saying the fit of the submitted task has begun (start-up and imports are behind it)
STARTED_LINE = b"+\n"
#: how long a child may take to start and build the reco before its fit begins (not fit time)
STARTUP_LIMIT_S = 120.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RecoCache:
    """Recos rebuilt from their setup, kept for the last few scans (a setup is the same for a whole scan)."""

    def __init__(self, size: int = _RECO_CACHE_SIZE) -> None:
        self.size = size
        self._recos: OrderedDict[tuple[str, str], Reco] = OrderedDict()

    def get(self, task: PixelTask) -> Reco:
        key = (task.scan_id, task.reco_algo)
        reco = self._recos.get(key)
        if reco is None:
            reco = get_reco(task.reco_algo).from_setup(task.setup)
            self._recos[key] = reco
            while len(self._recos) > self.size:
                self._recos.popitem(last=False)
        else:
            self._recos.move_to_end(key)
        return reco


def evaluate(
    task: PixelTask, cache: RecoCache, worker: str, on_start: Callable[[], None] | None = None
) -> PixelOutcome:
    """Fit one task here and now; a fit that raises becomes an ``error`` outcome.

    ``on_start`` is called once the reco is built (its module imported, its setup read), right before
    the fit: what ``max_pixel_reco_time`` limits starts there.
    """
    started = time.monotonic()
    try:
        reco = cache.get(task)
        if on_start is not None:
            on_start()
        started = time.monotonic()
        fit = reco.fit(task.seed())
    except Exception as exc:  # any failure of a reco is reported to the scan, not raised
        return PixelOutcome.for_task(
            task,
            OutcomeKind.ERROR,
            runtime=time.monotonic() - started,
            error=f"{type(exc).__name__}: {exc}",
            worker=worker,
        )
    return PixelOutcome.for_task(
        task, OutcomeKind.FIT, fit=fit, runtime=time.monotonic() - started, worker=worker
    )


def _die_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel kill this process when its parent dies (a worker killed with -9)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(0)


def _tell_started() -> None:
    sys.stdout.buffer.write(STARTED_LINE)
    sys.stdout.buffer.flush()


def child_main(parent_pid: int, worker: str) -> int:
    """The compute child: one task message of one task per line on stdin (its setup empty if the reco
    is cached: see :class:`ComputeProcess`); on stdout, :data:`STARTED_LINE` when the fit begins, then an
    outcome message of its outcome on one line."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    cache = RecoCache()
    for line in sys.stdin.buffer:
        (task,) = decode_tasks(line)
        sys.stdout.buffer.write(encode_outcomes([evaluate(task, cache, worker, _tell_started)]) + b"\n")
        sys.stdout.buffer.flush()
    return 0


class ComputeProcess:
    """One child process fitting one task at a time; :meth:`abandon` kills an overrunning fit.

    The child is ``python -m skyscan.workers.compute`` talking JSON lines over its stdin/stdout, so it
    starts the same way whatever the parent's ``__main__`` is. A task of the same scan and reco as the
    one before it goes with an empty ``setup``: the child's :class:`RecoCache` holds that reco (a setup
    is the same for a whole scan, and a pandel_mpe one is 10 kB of JSON to write and read per pixel).
    The full setup goes again to a new child and after an ``error`` outcome (the reco may not have been
    built).
    """

    def __init__(self, worker: str | None = None, *, env: Mapping[str, str] | None = None) -> None:
        self.worker = worker or worker_name()
        #: variables added to the child's environment (it inherits this process's)
        self.env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._task: PixelTask | None = None
        #: (scan_id, reco_algo) of the last task the child was sent and did not fail (None: none yet)
        self._child_reco: tuple[str, str] | None = None
        self._submitted_at = 0.0
        #: when the child began fitting the submitted task (None until it says so)
        self.fit_started_at: float | None = None

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop_child()
        command = [sys.executable, "-m", "skyscan.workers.compute", str(os.getpid()), self.worker]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env={**os.environ, **self.env} if self.env else None,
        )
        self._buffer = b""
        self._child_reco = None
        return self._process

    def start(self) -> None:
        """Start the child now (it starts on first use otherwise)."""
        self._ensure_started()

    def submit(self, task: PixelTask) -> None:
        if self._task is not None:
            raise RuntimeError(
                f"compute process: busy with nside {self._task.nside} pixel {self._task.pixel}"
            )
        process = self._ensure_started()
        assert process.stdin is not None
        reco = (task.scan_id, task.reco_algo)
        line = encode_tasks([task if reco != self._child_reco else replace(task, setup={})])
        self._child_reco = reco
        self._task = task
        self._submitted_at = time.monotonic()
        self.fit_started_at = None
        with contextlib.suppress(OSError):  # the child died: poll() reports it
            process.stdin.write(line + b"\n")

    def poll(self, wait_s: float) -> PixelOutcome | None:
        """The outcome of the submitted task if it is ready within ``wait_s`` seconds, else None."""
        task, process = self._task, self._process
        if task is None or process is None:
            raise RuntimeError("compute process: nothing submitted")
        assert process.stdout is not None
        deadline = time.monotonic() + wait_s
        while True:
            if self._buffer.startswith(STARTED_LINE):
                self._buffer = self._buffer[len(STARTED_LINE) :]
                self.fit_started_at = time.monotonic()
                continue
            if b"\n" in self._buffer:
                break
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:  # EOF: the child is gone
                code = process.wait()
                self._stop_child()
                self._task = None
                return PixelOutcome.for_task(
                    task,
                    OutcomeKind.ERROR,
                    error=f"compute process died (exit code {code})",
                    worker=self.worker,
                )
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        self._task = None
        (outcome,) = decode_outcomes(line)
        if outcome.kind is OutcomeKind.ERROR:
            self._child_reco = None
        return outcome

    def overran(self, timeout_s: float | None) -> bool:
        """Whether the submitted fit has run longer than ``timeout_s`` (counted from the child's word
        that the fit began, so its start-up and imports are not fit time), or the child never got
        to start it within :data:`STARTUP_LIMIT_S`."""
        now = time.monotonic()
        if self.fit_started_at is None:
            return now - self._submitted_at >= STARTUP_LIMIT_S
        return timeout_s is not None and now - self.fit_started_at >= timeout_s

    def run(self, task: PixelTask, timeout_s: float | None) -> PixelOutcome:
        """Fit ``task``; after ``timeout_s`` seconds of fitting abandon it: a ``timeout`` outcome."""
        self.submit(task)
        while True:
            outcome = self.poll(0.05 if timeout_s is not None and timeout_s < 1.0 else 0.25)
            if outcome is not None:
                return outcome
            if self.overran(timeout_s):
                return self.abandon()

    def abandon(self) -> PixelOutcome:
        """Kill the child in the middle of its fit; the outcome is a ``timeout`` notice."""
        task = self._task
        if task is None:
            raise RuntimeError("compute process: nothing to abandon")
        self._stop_child()
        self._task = None
        return PixelOutcome.for_task(
            task,
            OutcomeKind.TIMEOUT,
            runtime=task.timeout_s or 0.0,
            error=f"fit exceeded max_pixel_reco_time={task.timeout_s}s; abandoned for redelivery",
            worker=self.worker,
        )

    def interrupt(self) -> None:
        """Kill the child from another thread; the thread waiting in :meth:`run` gets an ``error`` outcome."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def _stop_child(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        self._stop_child()
        self._task = None


if __name__ == "__main__":
    sys.exit(child_main(int(sys.argv[1]), sys.argv[2]))
