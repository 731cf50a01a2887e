"""The daemon: the stream consumer in the main thread and the outbox dispatcher beside it.

Signals: the first SIGTERM (or SIGINT) finishes the batch in hand, commits offsets, lets the
dispatcher finish its batch, and exits 0; a second one exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from skymist import systemd
from skymist.app import App
from skymist.ingest.consumer import StreamConsumer
from skymist.ingest.inbox import Ingestor, IngestResult
from skymist.outbox.dispatcher import Dispatcher

log = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self, app: App, consumer: Any, dispatcher: Dispatcher, background: Callable[[], Any] | None = None
    ) -> None:
        """``background`` starts the scheduled jobs (scans); it returns an object with ``shutdown()``."""
        self.app = app
        self.background = background
        self._scheduler: Any = None
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.dispatcher = dispatcher
        self.stream = StreamConsumer(
            consumer,
            Ingestor(app),
            app.settings.kafka_topics,
            app.settings.kafka_poll_batch,
            self._after_batch,
        )
        self._signals = 0
        self._dispatcher_thread: threading.Thread | None = None

    def _after_batch(self, results: list[IngestResult]) -> None:
        if any(result.outbox_rows for result in results):
            self.wake.set()
        for result in results:
            if result.status == "dead_letter":
                log.warning(
                    "message dead-lettered", extra={"source": result.source, "reason": result.summary}
                )

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting at once", extra={"signal": signum})
            os._exit(1)
        log.info("stopping: finishing the work in hand", extra={"signal": signum})
        self.stop.set()
        self.wake.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def start_dispatcher(self) -> None:
        self._dispatcher_thread = threading.Thread(
            target=self.dispatcher.run_forever, args=(self.stop, self.wake), name="dispatcher", daemon=True
        )
        self._dispatcher_thread.start()

    def run(self, until: Callable[[], bool] | None = None) -> int:
        """Run until stopped (or until ``until()`` is true); returns the exit code."""
        self.start_dispatcher()
        if self.background is not None:
            self._scheduler = self.background()
        systemd.notify("READY=1")
        log.info(
            "daemon started", extra={"topics": self.app.settings.kafka_topics, "owner": self.dispatcher.owner}
        )
        watchdog = systemd.watchdog_interval_s()
        last_ping = time.monotonic()
        last_metrics = time.monotonic()
        try:
            while not self.stop.is_set():
                self.stream.poll_once(0.2)
                now = time.monotonic()
                if watchdog is not None and now - last_ping >= watchdog:
                    systemd.notify("WATCHDOG=1")
                    last_ping = now
                if now - last_metrics >= 60.0:
                    log.info("counters", extra={"counters": self.app.metrics.snapshot()})
                    last_metrics = now
                if until is not None and until():
                    self.stop.set()
        finally:
            systemd.notify("STOPPING=1")
            self.stop.set()
            self.wake.set()
            self.stream.close()
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=True)  # the scan tick in hand finishes
            if self._dispatcher_thread is not None:
                self._dispatcher_thread.join(timeout=self.app.settings.sink_timeout_s * 2 + 5)
            self.dispatcher.close()
            log.info("daemon stopped", extra={"counters": self.app.metrics.snapshot()})
        return 0
