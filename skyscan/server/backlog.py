"""The launcher: takes scans from the backlog (priority first, then age) and runs at most
``max_concurrent_scans`` of them; keeps their heartbeat; requeues scans orphaned by a dead
service; stops scans that were deleted.

Restart policy (documented in ``skyscan serve --help``): a scan that was running when the service
stopped is run again from the start. A graceful stop (SIGTERM/SIGINT) puts its scans back in the
backlog at once; after a crash they go back once their heartbeat is ``stale_after_s`` old. A scan
orphaned more than ``max_restarts`` times is failed (``FINISHED__*`` without a result).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid

from skyscan.server.runner import ScanRun, start_run
from skyscan.server.store import ScanStore
from skyscan.settings import SkyscanSettings

LOG = logging.getLogger(__name__)


class Launcher:
    """The backlog loop of one service instance (``owner``)."""

    def __init__(self, store: ScanStore, settings: SkyscanSettings) -> None:
        self.store = store
        self.settings = settings
        self.owner = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.address = f"skyscan://{socket.gethostname()}/{settings.pool_kind}"
        self._runs: dict[str, ScanRun] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_heartbeat = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="skyscan-launcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the backlog now (a scan was queued or deleted)."""
        self._wake.set()

    def cancel(self, scan_id: str) -> None:
        """Stop a scan running here now (it was deleted); other instances notice at their heartbeat."""
        run = self._runs.get(scan_id)
        if run is not None:
            run.cancel.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop launching; put running scans back in the backlog and wait for their threads."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        for run in list(self._runs.values()):
            run.releasing.set()
            run.cancel.set()
        for run in list(self._runs.values()):
            run.thread.join(timeout_s)
            if run.thread.is_alive():
                LOG.error("scan thread did not stop", extra={"scan_id": run.scan_id})
            else:
                self._runs.pop(run.scan_id, None)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:
                LOG.exception("launcher iteration failed")
            self._wake.wait(self.settings.backlog_poll_s)
            self._wake.clear()

    def _tick(self) -> None:
        if not self.settings.run_scans:
            handed = self.store.hand_out_queued()
            if handed:
                LOG.info("scans handed out to external scanners", extra={"scan_ids": handed})
            return
        for scan_id, run in list(self._runs.items()):
            if not run.thread.is_alive():
                del self._runs[scan_id]
        self._beat()
        requeued = self.store.requeue_orphans(
            stale_after_s=self.settings.stale_after_s, max_restarts=self.settings.max_restarts
        )
        if requeued:
            LOG.warning("orphaned scans handled", extra={"scan_ids": requeued})
        while not self._stop.is_set() and len(self._runs) < self.settings.max_concurrent_scans:
            claimed = self.store.claim_next(self.owner, self.address)
            if claimed is None:
                break
            self._runs[claimed] = start_run(self.store, self.settings, claimed, self.owner)

    def _beat(self) -> None:
        """Every ``heartbeat_s``: refresh the heartbeats and stop the scans deleted meanwhile."""
        now = time.monotonic()
        if not self._runs or now - self._last_heartbeat < self.settings.heartbeat_s:
            return
        self._last_heartbeat = now
        for scan_id in self.store.heartbeat(self.owner, set(self._runs)):
            run = self._runs.get(scan_id)
            if run is not None and not run.cancel.is_set():
                LOG.info("stopping scan", extra={"scan_id": scan_id})
                run.cancel.set()
