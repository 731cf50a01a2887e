"""When and how long to wait before trying a request again: exponential backoff with jitter."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed call is retried.

    The n-th retry (n = 1, 2, ...) waits ``min(max_delay_s, base_delay_s * multiplier**(n-1))``,
    of which the fraction ``jitter`` is randomised ("full jitter" when 1.0). Connection errors,
    timeouts and the ``retry_statuses`` are retried, for idempotent calls only.
    """

    max_attempts: int = 5
    """Attempts in total, the first one included (1 = never retry)."""
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    multiplier: float = 2.0
    jitter: float = 1.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts: must be >= 1 (got {self.max_attempts})")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError(
                f"RetryPolicy delays must not be negative (got {self.base_delay_s}, {self.max_delay_s})"
            )
        if self.multiplier < 1:
            raise ValueError(f"RetryPolicy.multiplier: must be >= 1 (got {self.multiplier})")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"RetryPolicy.jitter: must be within [0, 1] (got {self.jitter})")

    def delay_s(self, retry_number: int, rng: random.Random) -> float:
        """Seconds to sleep before the ``retry_number``-th retry (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * self.multiplier ** (retry_number - 1))
        return ceiling * (1 - self.jitter) + ceiling * self.jitter * rng.random()


NO_RETRY = RetryPolicy(max_attempts=1)


def retry_after_s(header: str | None, *, now: float | None = None) -> float | None:
    """The delay asked for by a ``Retry-After`` header (seconds or an HTTP date), if any."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
