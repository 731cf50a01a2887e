"""An ASGI application served by uvicorn in a thread of the daemon (its one HTTP port)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


class HttpServer:
    """``asgi`` on ``host:port``; :meth:`start` returns once it listens (or raises OSError why not)."""

    def __init__(self, asgi: Any, host: str, port: int, *, name: str = "http") -> None:
        self.host = host
        self.port = port
        self.name = name
        config = uvicorn.Config(
            asgi, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
            log_config=None,  # its lines go through the service's JSON log, not uvicorn's coloured one
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._started = threading.Event()

    def _serve(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by failure() (uvicorn exits when it cannot bind)
            self._failure = exc
        if self._failure is None and not self.server.should_exit:
            self._failure = OSError(f"the HTTP server on {self.host}:{self.port} stopped")

    def start(self, timeout_s: float = 15.0) -> None:
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        waited = threading.Event()
        elapsed = 0.0
        while not self.server.started and self._thread.is_alive() and elapsed < timeout_s:
            waited.wait(0.02)
            elapsed += 0.02
        if not self.server.started:
            self.server.should_exit = True
            raise OSError(f"cannot listen on {self.host}:{self.port}")
        log.info("HTTP port listening", extra={"host": self.host, "port": self.port})

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def failure(self) -> BaseException | None:
        return self._failure
