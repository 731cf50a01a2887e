"""The in-process pool: N worker threads, each driving one compute child process.

Real parallelism on N cores (the fits run in the children, not under this process's GIL), with the
same contract as the broker: a fit that overruns its task's ``timeout_s`` is killed, reported as a
``timeout`` notice and its task goes back to the end of the queue with its delivery count raised.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType

from skyscan.workers.compute import ComputeProcess, worker_name
from skyscan.workers.messages import OutcomeKind, PixelOutcome, PixelTask

LOG = logging.getLogger(__name__)
_STOP_GRACE_S = 1.0


class _InProcessScan:
    def __init__(self, pool: InProcessPool, scan_id: str) -> None:
        self.pool = pool
        self.scan_id = scan_id
        self.outcomes: queue.SimpleQueue[PixelOutcome] = queue.SimpleQueue()

    def submit(self, tasks: Sequence[PixelTask]) -> None:
        for task in tasks:
            if task.scan_id != self.scan_id:
                raise ValueError(
                    f"task.scan_id: {task.scan_id!r} submitted on the channel of scan {self.scan_id!r}"
                )
        self.pool._enqueue(tasks)

    def collect(self, timeout_s: float) -> list[PixelOutcome]:
        try:
            outcomes = [self.outcomes.get(timeout=timeout_s)]
        except queue.Empty:
            return []
        while True:
            try:
                outcomes.append(self.outcomes.get_nowait())
            except queue.Empty:
                return outcomes

    def close(self) -> None:
        self.pool._close_scan(self.scan_id)


class InProcessPool:
    """``workers`` compute processes fed from one queue; see :class:`~skyscan.workers.pool.PixelPool`."""

    def __init__(self, workers: int, *, worker_env: Mapping[str, str] | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: an in-process pool needs at least 1 worker, got {workers!r}")
        self.workers = workers
        self._tasks: collections.deque[PixelTask] = collections.deque()
        self._ready = threading.Condition()
        self._scans: dict[str, _InProcessScan] = {}
        self._closed = False
        self._computers = [ComputeProcess(f"{worker_name()}/{n}", env=worker_env) for n in range(workers)]
        self._threads = [
            threading.Thread(
                target=self._serve, args=(computer,), name=f"skyscan-pixel-worker-{n}", daemon=True
            )
            for n, computer in enumerate(self._computers)
        ]
        for thread in self._threads:
            thread.start()

    # -- PixelPool -------------------------------------------------------------------------------------
    def open_scan(self, scan_id: str) -> _InProcessScan:
        with self._ready:
            if self._closed:
                raise RuntimeError("pool: closed")
            if scan_id in self._scans:
                raise ValueError(f"scan_id: {scan_id!r} already has an open channel")
            channel = self._scans[scan_id] = _InProcessScan(self, scan_id)
            return channel

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._tasks.clear()
            self._ready.notify_all()
        for thread, computer in zip(self._threads, self._computers, strict=True):
            thread.join(timeout=_STOP_GRACE_S)
            if thread.is_alive():  # in the middle of a long fit: end it
                computer.interrupt()
                thread.join()
        for computer in self._computers:
            computer.close()

    def __enter__(self) -> InProcessPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------------
    def _enqueue(self, tasks: Sequence[PixelTask]) -> None:
        with self._ready:
            self._tasks.extend(tasks)
            self._ready.notify(len(tasks))

    def _close_scan(self, scan_id: str) -> None:
        with self._ready:
            self._scans.pop(scan_id, None)
            kept = [task for task in self._tasks if task.scan_id != scan_id]
            self._tasks.clear()
            self._tasks.extend(kept)

    def _next_task(self) -> PixelTask | None:
        with self._ready:
            while not self._tasks and not self._closed:
                self._ready.wait()
            return None if self._closed else self._tasks.popleft()

    def _serve(self, computer: ComputeProcess) -> None:
        computer.start()  # from this thread, whose life the child's is tied to (Linux parent-death signal)
        while (task := self._next_task()) is not None:
            try:
                outcome = computer.run(task, task.timeout_s)
            except Exception as exc:  # a broken child must not take this worker thread with it
                LOG.exception("pixel worker: task of scan %s failed outside its fit", task.scan_id)
                computer.close()
                outcome = PixelOutcome.for_task(task, OutcomeKind.ERROR, error=f"{type(exc).__name__}: {exc}")
            with self._ready:
                channel = self._scans.get(task.scan_id)
                if channel is None:  # the scan ended meanwhile
                    continue
                if outcome.kind is OutcomeKind.TIMEOUT:
                    self._tasks.append(task.redelivered())
                    self._ready.notify()
            channel.outcomes.put(outcome)
