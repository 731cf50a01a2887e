"""Serving the console: uvicorn in a thread of its own (the daemon's ``console`` job), or in the
foreground (``skymist console``)."""

from __future__ import annotations

import logging
import threading

import uvicorn

from skymist.app import App
from skymist.console.app import create_console

log = logging.getLogger(__name__)


class ConsoleServer:
    """The console on ``host:port``; :meth:`start` returns once it listens (or raises why not)."""

    def __init__(self, app: App, host: str | None = None, port: int | None = None) -> None:
        settings = app.settings
        self.host = host or settings.console_host
        self.port = settings.console_port if port is None else port
        config = uvicorn.Config(
            create_console(app), host=self.host, port=self.port, log_level="warning", access_log=False,
            lifespan="off", log_config=None,  # its lines go through the JSON log, not uvicorn's own
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def _serve(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by failure(): the daemon stops
            self._failure = exc
        if not self.server.started and self._failure is None:
            self._failure = OSError(f"the console could not listen on {self.host}:{self.port}")

    def start(self, timeout_s: float = 15.0) -> None:
        self._thread = threading.Thread(target=self._serve, name="console", daemon=True)
        self._thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self.server.started and self._thread.is_alive() and waited < timeout_s:
            deadline.wait(0.05)
            waited += 0.05
        if not self.server.started:
            raise OSError(f"the console could not listen on {self.host}:{self.port}")
        log.info("console listening", extra={"host": self.host, "port": self.port})

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def failure(self) -> BaseException | None:
        return self._failure

    def serve_forever(self) -> None:
        """In the foreground until SIGINT/SIGTERM (uvicorn's own signal handling)."""
        self.server.run()
