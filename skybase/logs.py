"""One log pipeline for every component: JSON lines on standard error, the same fields everywhere.

Each record is one JSON object: ``time`` (UTC, ms), ``level``, ``service`` (skymist, skyscan),
``logger``, ``message``, the record's ``extra`` fields, and ``exception`` (the traceback) when there
is one. The libraries the services drive write through the same handler: librdkafka (pass
:func:`librdkafka_logger` as the client's ``logger``), pika, APScheduler, uvicorn, urllib3 and
alembic, the chatty ones held at WARNING.

A failure that repeats (the database down, a broker away) is logged once per
``repeat_interval_s`` with a ``repeated`` count of the lines held back in between, instead of one
traceback per attempt. Lines are grouped by logger, level and message template.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
import time
from typing import Any, Final

_STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_MARK: Final = "_skybase_handler"

#: libraries that log at INFO for every routine step; their INFO is noise in a service's journal
QUIET_LIBRARIES: Final = ("apscheduler", "pika", "urllib3", "alembic", "httpx", "uvicorn.access")
#: loggers that bring their own handlers; they are routed through ours instead
ROUTED_LIBRARIES: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


class RepeatLimiter(logging.Filter):
    """Lets a repeated line through once per interval, with the count of those held back."""

    def __init__(self, interval_s: float) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self.interval_s <= 0:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            last, held = self._seen.get(key, (-float("inf"), 0))
            if now - last < self.interval_s:
                self._seen[key] = (last, held + 1)
                return False
            self._seen[key] = (now, 0)
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.interval_s}
        if held:
            record.repeated = held
        return True


class StandardErrorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the ``sys.stderr`` of the moment, not the one it was made with (a stream replaced
    since, as a test's capture or a re-opened terminal, is never written to once closed)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # the caller (Handler.handle) holds this handler's lock
        super().emit(record)


def configure_logging(service: str, level: str = "INFO", *, repeat_interval_s: float = 60.0) -> None:
    """Send every log record as one JSON line to standard error (idempotent: replaces its own handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = StandardErrorHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RepeatLimiter(repeat_interval_s))
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ROUTED_LIBRARIES:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def librdkafka_logger() -> logging.Logger:
    """The logger librdkafka writes through (its ``logger`` setting); its lines then are JSON too."""
    return logging.getLogger("librdkafka")
