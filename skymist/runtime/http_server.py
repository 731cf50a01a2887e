"""An ASGI application served by uvicorn in a thread of the daemon (its one HTTP port)."""

from __future__ import annotations

import logging
from typing import Any

from skymist.uvicorn_thread import UvicornThread

log = logging.getLogger(__name__)


class HttpServer(UvicornThread):
    """``asgi`` on ``host:port``; :meth:`start` returns once it listens (or raises OSError why not)."""

    def __init__(self, asgi: Any, host: str, port: int, *, name: str = "http") -> None:
        super().__init__(asgi, host, port, thread_name=name)
        self.name = name

    def _serve(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by failure() (uvicorn exits when it cannot bind)
            self._failure = exc
        if self._failure is None and not self.server.should_exit:
            self._failure = OSError(f"the HTTP server on {self.host}:{self.port} stopped")

    def start(self, timeout_s: float = 15.0) -> None:
        if not self._start_listening(timeout_s, poll_s=0.02):
            self.server.should_exit = True
            raise OSError(f"cannot listen on {self.host}:{self.port}")
        log.info("HTTP port listening", extra={"host": self.host, "port": self.port})
