"""Fitting pixel tasks, and the child process that does it under a time limit.

:func:`evaluate` turns a task into an outcome in the calling process. :class:`ComputeProcess` runs
:func:`evaluate` in a child process, so that a fit that overruns ``max_pixel_reco_time`` can be
abandoned for real (the child is killed and replaced) and CPU-bound fits of several workers run in
parallel whatever the GIL does. Both the in-process pool and the RabbitMQ worker use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections import OrderedDict

from skyscan.recos import Reco, get_reco
from skyscan.workers.messages import OutcomeKind, PixelOutcome, PixelTask

_PR_SET_PDEATHSIG = 1
_RECO_CACHE_SIZE = 8


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


def evaluate(task: PixelTask, cache: RecoCache, worker: str) -> PixelOutcome:
    """Fit one task here and now; a fit that raises becomes an ``error`` outcome."""
    started = time.monotonic()
    try:
        fit = cache.get(task).fit(task.seed())
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


def child_main(parent_pid: int, worker: str) -> int:
    """The compute child: one JSON task per line on stdin, one JSON outcome per line on stdout."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    cache = RecoCache()
    for line in sys.stdin.buffer:
        message = json.loads(line)
        task = PixelTask.from_json(message["task"], delivery=int(message["delivery"]))
        sys.stdout.buffer.write(evaluate(task, cache, worker).encode() + b"\n")
        sys.stdout.buffer.flush()
    return 0


class ComputeProcess:
    """One child process fitting one task at a time; :meth:`abandon` kills an overrunning fit.

    The child is ``python -m skyscan.workers.compute`` talking JSON lines over its stdin/stdout, so it
    starts the same way whatever the parent's ``__main__`` is.
    """

    def __init__(self, worker: str | None = None) -> None:
        self.worker = worker or worker_name()
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._task: PixelTask | None = None

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop_child()
        command = [sys.executable, "-m", "skyscan.workers.compute", str(os.getpid()), self.worker]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._buffer = b""
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
        line = json.dumps({"task": task.to_json(), "delivery": task.delivery}, separators=(",", ":")).encode()
        self._task = task
        with contextlib.suppress(OSError):  # the child died: poll() reports it
            process.stdin.write(line + b"\n")

    def poll(self, wait_s: float) -> PixelOutcome | None:
        """The outcome of the submitted task if it is ready within ``wait_s`` seconds, else None."""
        task, process = self._task, self._process
        if task is None or process is None:
            raise RuntimeError("compute process: nothing submitted")
        assert process.stdout is not None
        deadline = time.monotonic() + wait_s
        while b"\n" not in self._buffer:
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
        return PixelOutcome.decode(line)

    def run(self, task: PixelTask, timeout_s: float | None) -> PixelOutcome:
        """Fit ``task``; after ``timeout_s`` seconds abandon it and return a ``timeout`` outcome."""
        self.submit(task)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            outcome = self.poll(wait)
            if outcome is not None:
                return outcome
            if deadline is not None and time.monotonic() >= deadline:
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
