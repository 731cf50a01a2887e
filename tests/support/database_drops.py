"""Dropping the tests' databases off the tests' path: one thread per test process drops them in turn.

PostgreSQL 15 runs an immediate checkpoint for every ``DROP DATABASE`` (about 1.5 s with its durable
default settings on this machine's disk, for a database of a few megabytes), so a test that waited
for its database to go would spend more time on that than on most checks. A test hands the name
over (:meth:`Drops.later`) and goes on; the test session waits for the last drop before it ends
(:meth:`Drops.wait`, from ``pytest_sessionfinish``), so nothing is left behind.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import psycopg

_STOP = ""


class Drops:
    """Drops databases, in the order handed over, on a thread of its own (started at the first)."""

    def __init__(self, admin_dsn: Callable[[], str]) -> None:
        self._admin_dsn = admin_dsn
        self._names: queue.Queue[str] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.failures: list[str] = []

    def later(self, name: str) -> None:
        """Drop database ``name`` soon (its connections are ended: ``WITH (FORCE)``)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="database-drops", daemon=True)
                self._thread.start()
        self._names.put(name)

    def wait(self) -> None:
        """Return once every database handed over is dropped."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._names.put(_STOP)
            thread.join()

    def _run(self) -> None:
        while (name := self._names.get()) != _STOP:
            try:
                with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error as exc:
                self.failures.append(f"{name}: {exc}")
