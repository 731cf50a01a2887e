"""What a scan needs from its pixel workers, and the factory of the two kinds of pools.

A :class:`PixelPool` is long-lived (one per service) and serves many scans; each scan opens its own
:class:`ScanChannel`, submits pixel tasks on it, collects their outcomes from it and closes it at the
end, which drops the scan's tasks still waiting. One scan's channel is used from one thread.

Delivery is at least once: after a worker dies or abandons a fit (``max_pixel_reco_time``) its task is
delivered again, so an outcome can arrive twice; the collector (the engine) ignores the duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Literal, Protocol

from skyscan.workers.messages import DEFAULT_TASK_QUEUE as DEFAULT_TASK_QUEUE  # where callers find it
from skyscan.workers.messages import PixelOutcome, PixelTask

PoolKind = Literal["inprocess", "rabbitmq"]
POOL_KINDS: tuple[PoolKind, ...] = ("inprocess", "rabbitmq")
#: task messages a RabbitMQ worker holds unacknowledged: with 2 the next message is at hand when the last
#: fit of one ends, so the next fit starts while that message's outcomes are confirmed
DEFAULT_PREFETCH = 2


class ScanChannel(Protocol):
    """One scan's connection to the workers."""

    def submit(self, tasks: Sequence[PixelTask]) -> None:
        """Queue tasks for the workers (returns once they are queued, not done)."""
        ...

    def collect(self, timeout_s: float) -> list[PixelOutcome]:
        """The outcomes that arrived, waiting up to ``timeout_s`` for the first one (empty if none)."""
        ...

    def close(self) -> None:
        """Stop the scan's traffic: waiting tasks are dropped, late outcomes are discarded."""
        ...


class PixelPool(Protocol):
    """Workers that fit pixel tasks for any number of scans."""

    def open_scan(self, scan_id: str) -> ScanChannel: ...

    def close(self) -> None: ...

    def __enter__(self) -> PixelPool: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def open_pool(
    kind: PoolKind,
    *,
    workers: int,
    broker_url: str | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    worker_env: Mapping[str, str] | None = None,
) -> PixelPool:
    """A pool of ``workers`` pixel workers.

    ``inprocess``: ``workers`` child processes of this process (at least 1).
    ``rabbitmq``: tasks go through the broker at ``broker_url`` (queue ``task_queue``) to any
    ``skyscan worker`` consuming it; ``workers`` local ones are started here too (0: only external ones).
    ``worker_env``: variables added to the environment of the processes this pool starts (e.g. the
    dummy reco's gate, :data:`skyscan.recos.dummy_gate.GATE_DIR_ENV`).
    """
    if kind == "inprocess":
        from skyscan.workers.inprocess import InProcessPool

        return InProcessPool(workers, worker_env=worker_env)
    if kind == "rabbitmq":
        if not broker_url:
            raise ValueError(
                "broker_url: required for a rabbitmq pool, e.g. amqp://guest:guest@127.0.0.1:5672/"
            )
        from skyscan.workers.rabbitmq import RabbitMQPool

        return RabbitMQPool(broker_url, workers=workers, task_queue=task_queue, worker_env=worker_env)
    raise ValueError(f"kind: expected one of {', '.join(POOL_KINDS)}, got {kind!r}")
