"""One writer for a stream that several threads print to: whole lines only, never two threads' text
within one line.

``print(text, file=stream)`` is two writes (the text, then the newline), so two threads printing at
once can put one's text inside the other's line. :class:`LineWriter` keeps what each thread wrote
since its last newline, and writes a thread's completed lines to the stream in one piece under one
lock (a multi-line message, e.g. a Slack message printed with one ``print``, stays together).
"""

from __future__ import annotations

import io
import threading
from typing import TextIO, cast


class LineWriter(io.TextIOBase):
    """Wraps ``stream``; use :func:`line_writer` to get it typed as a ``TextIO``."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._lock = threading.Lock()
        self._pending = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending: str = getattr(self._pending, "text", "") + text
        head, newline, tail = pending.rpartition("\n")
        self._pending.text = tail
        if newline:
            with self._lock:
                self.stream.write(head + newline)
                self.stream.flush()
        return len(text)

    def flush(self) -> None:
        """Writes nothing unfinished (a line is written when it ends); flushes the stream."""
        with self._lock:
            self.stream.flush()

    def finish(self) -> None:
        """Write the calling thread's unfinished line, if any, with a newline."""
        rest: str = getattr(self._pending, "text", "")
        if rest:
            self._pending.text = ""
            self.write(rest + "\n")


def line_writer(stream: TextIO) -> TextIO:
    """``stream`` wrapped in a :class:`LineWriter` (a ``TextIO`` to whoever prints to it)."""
    if isinstance(stream, LineWriter):
        return cast(TextIO, stream)
    return cast(TextIO, LineWriter(stream))
