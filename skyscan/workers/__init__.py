"""Pixel workers: the pool a scan submits pixel tasks to (in-process or through RabbitMQ).

See :mod:`.pool` for the contract, :mod:`.inprocess` and :mod:`.rabbitmq` for the two pools,
:mod:`.rabbitmq_worker` for ``skyscan worker`` and :mod:`.messages` for the task/outcome format.
"""

from __future__ import annotations

from skyscan.workers.messages import OutcomeKind, PixelOutcome, PixelTask
from skyscan.workers.pool import DEFAULT_TASK_QUEUE, POOL_KINDS, PixelPool, PoolKind, ScanChannel, open_pool

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "POOL_KINDS",
    "OutcomeKind",
    "PixelOutcome",
    "PixelPool",
    "PixelTask",
    "PoolKind",
    "ScanChannel",
    "open_pool",
]
