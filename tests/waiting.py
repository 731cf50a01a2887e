"""Waiting in tests: the one helper that polls a condition until it holds, with a deadline.

A test waits for what it needs (a row, a state, a file), never for a fixed time, and it asserts no
duration. Deadlines only bound how long a test may wait before it is declared stuck; they are
generous, and all of them are multiplied by one test setting:

``SKYMIST_TEST_TIME_SCALE`` (environment variable, a number > 0, default 1)
    multiplies every deadline given to :func:`wait_for`: e.g. ``SKYMIST_TEST_TIME_SCALE=3`` on a
    slow or heavily loaded machine. A passing test takes no longer with a larger scale; only a test
    that is stuck takes longer to fail.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import TypeVar

TIME_SCALE_ENV = "SKYMIST_TEST_TIME_SCALE"
#: seconds between two looks at the condition, unless told
DEFAULT_EVERY_S = 0.05

T = TypeVar("T")


class WaitTimeoutError(AssertionError):
    """A condition did not hold before its deadline (the message says what, and the last value)."""


def time_scale() -> float:
    """The factor of every deadline, from :data:`TIME_SCALE_ENV` (1 when unset)."""
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"{TIME_SCALE_ENV}: expected a number > 0, got {raw!r}")
    return scale


def scaled(timeout_s: float) -> float:
    """``timeout_s`` multiplied by the test time scale."""
    return timeout_s * time_scale()


def wait_for(
    condition: Callable[[], T | None],
    timeout_s: float,
    what: str,
    every_s: float = DEFAULT_EVERY_S,
    *,
    describe: Callable[[], object] | None = None,
    tolerate: tuple[type[Exception], ...] = (),
) -> T:
    """Call ``condition`` every ``every_s`` seconds until it returns a truthy value, and return that value.

    Fails with :class:`WaitTimeoutError` naming ``what`` and the last value seen (and ``describe()``,
    when given: the state that explains the wait) if that takes longer than ``timeout_s`` seconds
    times the test time scale. The condition is always called at least once, and once more at the
    deadline. An exception of a ``tolerate`` type counts as "not yet" (e.g. the store is down in the
    middle of a chaos case).
    """
    limit_s = scaled(timeout_s)
    deadline = time.monotonic() + limit_s
    while True:
        last_look = time.monotonic() >= deadline
        value: object
        try:
            value = condition()
        except tolerate as exc:
            value = exc
        else:
            if value:
                return value
        if last_look:
            shown = f"; {describe()}" if describe is not None else ""
            raise WaitTimeoutError(
                f"gave up after {limit_s:g} s waiting for {what}; last value: {value!r}{shown}"
            )
        time.sleep(max(0.0, min(every_s, deadline - time.monotonic())))
