"""Serving the console: uvicorn in a thread of its own (the daemon's ``console`` job), or in the
foreground (``skymist console``)."""

from __future__ import annotations

import logging

from skymist.app import App
from skymist.console.app import create_console
from skymist.uvicorn_thread import UvicornThread

log = logging.getLogger(__name__)


class ConsoleServer(UvicornThread):
    """The console on ``host:port``; :meth:`start` returns once it listens (or raises why not)."""

    def __init__(self, app: App, host: str | None = None, port: int | None = None) -> None:
        settings = app.settings
        listen_port = settings.console_port if port is None else port
        super().__init__(
            create_console(app), host or settings.console_host, listen_port, thread_name="console"
        )

    def _serve(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by failure(): the daemon stops
            self._failure = exc
        if not self.server.started and self._failure is None:
            self._failure = OSError(f"the console could not listen on {self.host}:{self.port}")

    def start(self, timeout_s: float = 15.0) -> None:
        if not self._start_listening(timeout_s, poll_s=0.05):
            raise OSError(f"the console could not listen on {self.host}:{self.port}")
        log.info("console listening", extra={"host": self.host, "port": self.port})

    def serve_forever(self) -> None:
        """In the foreground until SIGINT/SIGTERM (uvicorn's own signal handling)."""
        self.server.run()
