"""uvicorn run in a thread of the daemon, what both HTTP ports share (the ops port and the console): the
quiet server, the thread that runs it, the wait until it listens, and stopping it."""

from __future__ import annotations

import threading
from typing import Any

import uvicorn


def quiet_server(asgi: Any, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server of ``asgi`` on ``host:port``: warnings only, no access log, no lifespan, and its
    lines through the service's JSON log (``log_config=None``), not uvicorn's coloured one."""
    config = uvicorn.Config(
        asgi, host=host, port=port, log_level="warning", access_log=False, lifespan="off", log_config=None
    )
    return uvicorn.Server(config)


def wait_until_listening(
    server: uvicorn.Server, thread: threading.Thread, timeout_s: float, poll_s: float
) -> bool:
    """Whether ``server`` (run by ``thread``) listens within about ``timeout_s``; gives up early when the
    thread ends (uvicorn exits when it cannot bind)."""
    pause = threading.Event()
    waited = 0.0
    while not server.started and thread.is_alive() and waited < timeout_s:
        pause.wait(poll_s)
        waited += poll_s
    return bool(server.started)


class UvicornThread:
    """:func:`quiet_server` of ``asgi`` on ``host:port``, run by a daemon thread named ``thread_name``.
    A subclass gives :meth:`_serve` (what counts as a failure) and :meth:`start` (its messages)."""

    def __init__(self, asgi: Any, host: str, port: int, *, thread_name: str) -> None:
        self.host = host
        self.port = port
        self.server = quiet_server(asgi, host, port)
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def _serve(self) -> None:
        raise NotImplementedError

    def _start_listening(self, timeout_s: float, poll_s: float) -> bool:
        """Start the thread; whether the server listens within about ``timeout_s``."""
        self._thread = threading.Thread(target=self._serve, name=self._thread_name, daemon=True)
        self._thread.start()
        return wait_until_listening(self.server, self._thread, timeout_s, poll_s)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def failure(self) -> BaseException | None:
        return self._failure
