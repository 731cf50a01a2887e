"""One log pipeline for every component: JSON lines on standard error, the same fields everywhere.

Each record is one JSON object: ``time`` (UTC, ms), ``level``, ``service`` (skymist, skyscan),
``logger``, ``message``, the record's ``extra`` fields, and ``exception`` (the traceback) when there
is one. The libraries the services drive write through the same handler: librdkafka (pass
:func:`librdkafka_logger` as the client's ``logger``), pika, APScheduler, uvicorn, urllib3 and
alembic, the chatty ones held at WARNING.

``text`` instead of JSON (``configure_logging(..., log_format="text")``) writes each record as one
plain line, ``<service>: log: <LEVEL> <logger>: <message>``: the form of an operator's command,
whose error line (``<service>: error: ...``) is plain too and never mistaken for a log line.
Neither form carries terminal colours: uvicorn's ``color_message`` (its message with ANSI escapes) is
left out and escapes in a message are removed.

A failure that repeats (the database down, a broker away) is logged once per
``repeat_interval_s`` with a ``repeated`` count of the lines held back in between, instead of one
traceback per attempt. Lines are grouped by logger, level and message template.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import threading
import time
from typing import Any, Final, Literal

LogFormat = Literal["json", "text"]

_STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_MARK: Final = "_skybase_handler"

#: record attributes never written: uvicorn's copy of the message with terminal colours
_LEFT_OUT: Final = frozenset({"color_message"})
#: ANSI escape sequences (colours, cursor moves): a log line is read by machines and in files
_ANSI: Final = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")

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
            "message": _plain(record.getMessage()),
        }
        document.update(_extras(record))
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


class TextFormatter(logging.Formatter):
    """One plain line per record: ``skymist: log: WARNING logger: message (key=value, ...)``; a
    traceback, when there is one (``--log-level DEBUG``), follows on the next lines."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        extras = _extras(record)
        details = " (" + ", ".join(f"{key}={value}" for key, value in extras.items()) + ")" if extras else ""
        message = " ".join(_plain(record.getMessage()).split())
        line = f"{self.service}: log: {record.levelname} {record.name}: {message}{details}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """A record's own fields (its ``extra``), without colour copies or escapes."""
    return {
        key: _plain(value) if isinstance(value, str) else value
        for key, value in vars(record).items()
        if key not in _STANDARD and key not in _LEFT_OUT and not key.startswith("_")
    }


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


def configure_logging(
    service: str, level: str = "INFO", *, repeat_interval_s: float = 60.0, log_format: LogFormat = "json"
) -> None:
    """Send every log record as one JSON line (or one plain line: ``log_format="text"``) to standard
    error (idempotent: replaces its own handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = StandardErrorHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if log_format == "json" else TextFormatter(service))
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
