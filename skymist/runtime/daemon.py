"""The daemon: starts its named jobs (:mod:`skymist.runtime.jobs`), watches them, stops them.

Signals: the first SIGTERM (or SIGINT) lets every job finish the work in hand (the consumer
commits its offsets, the dispatcher its batch, a scan tick its round) and exits 0; a second one
exits 1 at once. A job that ends by an error stops the daemon with exit code 1 (systemd restarts
it). systemd hears READY, WATCHDOG (while every job is alive) and STOPPING.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from skymist.app import App
from skymist.runtime import systemd
from skymist.runtime.jobs import Job

log = logging.getLogger(__name__)

#: how often the daemon looks at its jobs, the watchdog and ``until``
TICK_S = 0.2


class Daemon:
    def __init__(self, app: App, jobs: Sequence[Job]) -> None:
        self.app = app
        self.jobs = list(jobs)
        self.stop = threading.Event()
        self._signals = 0

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting at once", extra={"signal": signum})
            os._exit(1)
        log.info("stopping: finishing the work in hand", extra={"signal": signum})
        self.stop.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _failed_job(self) -> Job | None:
        return next((job for job in self.jobs if job.failure() is not None), None)

    def run(self, until: Callable[[], bool] | None = None) -> int:
        """Run until stopped (or until ``until()`` is true); returns the exit code."""
        started: list[Job] = []
        failed: Job | None = None
        try:
            for job in self.jobs:
                job.start()
                started.append(job)
            systemd.notify("READY=1")
            log.info("daemon started", extra={"jobs": [job.name.value for job in self.jobs]})
            watchdog = systemd.watchdog_interval_s()
            last_ping = last_counters = time.monotonic()
            while not self.stop.wait(TICK_S):
                failed = self._failed_job()
                if failed is not None:
                    break
                now = time.monotonic()
                if watchdog is not None and now - last_ping >= watchdog:
                    systemd.notify("WATCHDOG=1")
                    last_ping = now
                if now - last_counters >= 60.0:
                    log.info("counters", extra={"counters": self.app.metrics.snapshot()})
                    last_counters = now
                if until is not None and until():
                    break
        finally:
            systemd.notify("STOPPING=1")
            self.stop.set()
            for job in started:  # ingest first: no new work comes in while the rest finish
                began = time.monotonic()
                job.stop()
                log.info(
                    "job stopped",
                    extra={"job": job.name.value, "seconds": round(time.monotonic() - began, 3)},
                )
            log.info("daemon stopped", extra={"counters": self.app.metrics.snapshot()})
        if failed is not None:
            log.error("daemon stopped because a job failed", extra={"job": failed.name.value})
            return 1
        return 0
