"""``skyscan serve`` inside another process (the SkyMist demo): the same app on a loopback port,
run by uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
from typing import Any

from skyscan.settings import SkyscanSettings


class EmbeddedSkyscan:
    """Use as a context manager; ``url`` is set once the service accepts requests."""

    def __init__(self, settings: SkyscanSettings, start_timeout_s: float = 60.0) -> None:
        self.settings = settings
        self.start_timeout_s = start_timeout_s
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> EmbeddedSkyscan:
        import uvicorn

        from skyscan.server.app import create_app

        ready = threading.Event()
        sock = socket.socket(socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts (see command.py)
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        app = create_app(self.settings, on_ready=ready.set)
        config = uvicorn.Config(app, log_config=None, lifespan="on", timeout_graceful_shutdown=10)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="skyscan", daemon=True
        )
        self._thread.start()
        if not ready.wait(self.start_timeout_s):
            self.__exit__()
            raise RuntimeError(f"the embedded skyscan did not start within {self.start_timeout_s} s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
