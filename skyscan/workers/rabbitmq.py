"""The RabbitMQ pool: pixel tasks through a broker to ``skyscan worker`` processes on any machine.

Queues (default exchange):

- ``<task_queue>`` (default ``skyscan.pixels``): durable, shared by all scans; task messages are
  persistent JSON messages of one or more tasks (:mod:`.messages`) whose ``reply_to`` names the scan's
  result queue;
- ``<task_queue>.results.<scan_id>``: one per scan, deleted when the scan's channel closes (and by the
  broker after an hour unused, should the scan's process die).

:meth:`_RabbitMQScan.submit` puts up to :func:`tasks_per_message` tasks in one message: what a message
costs (pika in the scan and the worker, the broker's routing, disk write, delivery, acknowledgement,
and the outcome message back) was 3-4 ms of CPU, a third of a 10 ms fit, and on a machine whose cores all
fit pixels it slowed them all; shared by several tasks it is a fraction of a millisecond per pixel.
Messages are published in AMQP transactions of at most :data:`MESSAGES_PER_COMMIT`, so :meth:`submit`
returns only once the broker holds every task (a commit of persistent messages returns once they are on
disk). Workers acknowledge a task message only after the outcomes of all its tasks are confirmed, or its
unfinished tasks published again; a worker that dies leaves its task messages unacknowledged and the
broker delivers them to another worker. A late outcome for a scan whose result queue is gone is
unroutable, and the worker drops the task message.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import pika
import pika.spec
from pika.adapters.blocking_connection import BlockingChannel

from skyscan.workers.messages import (
    DEFAULT_TASK_QUEUE,
    MessageError,
    PixelOutcome,
    PixelTask,
    decode_outcomes,
    encode_tasks,
    group_tasks,
)

LOG = logging.getLogger(__name__)
BROKER_URL_ENV = "SKYSCAN_BROKER_URL"
RESULT_QUEUE_EXPIRES_MS = 3_600_000
#: task messages per transaction of :meth:`_RabbitMQScan.submit` (workers see them once committed)
MESSAGES_PER_COMMIT = 32
#: most tasks in one task message; a worker holds at most ``prefetch`` times this many
MAX_TASKS_PER_MESSAGE = 8
#: task messages per consuming worker that a submit aims at, so that at the end of a submit's tasks
#: the workers run out within about one message's fits of each other
MESSAGES_PER_WORKER = 12
_STOP_GRACE_S = 10.0


def connect(broker_url: str) -> pika.BlockingConnection:
    """A blocking connection (heartbeats every 30 s) to ``broker_url``, e.g. amqp://guest:guest@host:5672/."""
    parameters = pika.URLParameters(broker_url)
    parameters.heartbeat = 30
    parameters.blocked_connection_timeout = 300
    return pika.BlockingConnection(parameters)


def declare_task_queue(channel: BlockingChannel, name: str) -> int:
    """Declare the (durable) task queue ``name``; the number of workers consuming it now."""
    consumers: int = channel.queue_declare(queue=name, durable=True).method.consumer_count
    return consumers


def task_message_properties(reply_to: str) -> pika.BasicProperties:
    """The properties of every task message: persistent JSON whose outcomes go to ``reply_to``."""
    return pika.BasicProperties(
        content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent, reply_to=reply_to
    )


def tasks_per_message(tasks: int, workers: int) -> int:
    """Tasks per message for a submit of ``tasks`` tasks to ``workers`` consuming workers (0 counts as
    1): :data:`MESSAGES_PER_WORKER` messages for each worker, of 1 to :data:`MAX_TASKS_PER_MESSAGE`
    tasks."""
    return max(1, min(MAX_TASKS_PER_MESSAGE, tasks // (max(1, workers) * MESSAGES_PER_WORKER)))


def result_queue_name(task_queue: str, scan_id: str) -> str:
    return f"{task_queue}.results.{scan_id}"


class _RabbitMQScan:
    """One scan's connection, result queue and consumer (used from the scan's thread only).

    ``per_message``: tasks per task message; None: :func:`tasks_per_message` of each submit's tasks and
    of the workers consuming the task queue at the time.
    """

    def __init__(
        self,
        broker_url: str,
        task_queue: str,
        scan_id: str,
        on_close: Callable[[str], None],
        per_message: int | None = None,
    ) -> None:
        if per_message is not None and per_message < 1:
            raise ValueError(f"per_message: must be >= 1 or None, got {per_message}")
        self.scan_id = scan_id
        self.per_message = per_message
        self._on_close = on_close
        self.task_queue = task_queue
        self.result_queue = result_queue_name(task_queue, scan_id)
        self.connection = connect(broker_url)
        self.channel = self.connection.channel()
        declare_task_queue(self.channel, task_queue)
        # tasks go out on a channel of their own in transactions (acks of outcomes stay outside them)
        self.publisher = self.connection.channel()
        self.publisher.tx_select()
        self.channel.queue_declare(
            queue=self.result_queue, durable=True, arguments={"x-expires": RESULT_QUEUE_EXPIRES_MS}
        )
        self._received: list[tuple[int, bytes]] = []
        self._consumer_tag = self.channel.basic_consume(
            queue=self.result_queue, on_message_callback=self._on_outcome, auto_ack=False
        )

    def _on_outcome(
        self,
        channel: BlockingChannel,
        method: pika.spec.Basic.Deliver,
        properties: pika.spec.BasicProperties,
        body: bytes,
    ) -> None:
        self._received.append((method.delivery_tag, body))

    def submit(self, tasks: Sequence[PixelTask]) -> None:
        properties = task_message_properties(self.result_queue)
        for task in tasks:
            if task.scan_id != self.scan_id:
                raise ValueError(
                    f"task.scan_id: {task.scan_id!r} submitted on the channel of scan {self.scan_id!r}"
                )
        if not tasks:
            return
        per_message = self.per_message
        if per_message is None:
            per_message = tasks_per_message(len(tasks), declare_task_queue(self.channel, self.task_queue))
        groups = group_tasks(tasks, per_message)
        for start in range(0, len(groups), MESSAGES_PER_COMMIT):
            for group in groups[start : start + MESSAGES_PER_COMMIT]:
                self.publisher.basic_publish(
                    exchange="", routing_key=self.task_queue, body=encode_tasks(group), properties=properties
                )
            self.publisher.tx_commit()

    def collect(self, timeout_s: float) -> list[PixelOutcome]:
        if not self._received:
            self.connection.process_data_events(time_limit=timeout_s)
        received, self._received = self._received, []
        outcomes: list[PixelOutcome] = []
        for _, body in received:
            try:
                message = decode_outcomes(body)
            except MessageError as exc:
                LOG.error("scan %s: dropped an unreadable outcome message: %s", self.scan_id, exc)
                continue
            if message[0].scan_id == self.scan_id:
                outcomes.extend(message)
            else:
                LOG.error("scan %s: dropped outcomes of scan %s", self.scan_id, message[0].scan_id)
        if received:
            self.channel.basic_ack(delivery_tag=received[-1][0], multiple=True)
        return outcomes

    def close(self) -> None:
        self._on_close(self.scan_id)
        if self.connection.is_closed:
            return
        try:
            self.channel.basic_cancel(self._consumer_tag)
            self.channel.queue_delete(queue=self.result_queue)
        finally:
            self.connection.close()


class RabbitMQPool:
    """Tasks through the broker at ``broker_url``; and ``workers`` local ``skyscan worker`` processes.

    ``tasks_per_message``: how many tasks each task message carries; None (the default) chooses per
    submit (:func:`tasks_per_message`). ``worker_env``: variables added to the environment of the
    local workers.
    """

    def __init__(
        self,
        broker_url: str,
        *,
        workers: int = 0,
        task_queue: str = DEFAULT_TASK_QUEUE,
        tasks_per_message: int | None = None,
        worker_env: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"workers: expected a number of local workers >= 0, got {workers!r}")
        if tasks_per_message is not None and tasks_per_message < 1:
            raise ValueError(f"tasks_per_message: expected a number >= 1 or None, got {tasks_per_message!r}")
        self.tasks_per_message = tasks_per_message
        self.broker_url = broker_url
        self.task_queue = task_queue
        connection = connect(broker_url)  # fail early on a wrong URL or a broker that is down
        try:
            declare_task_queue(connection.channel(), task_queue)
        finally:
            connection.close()
        self._local_workers = [
            start_worker_process(broker_url, task_queue, env=worker_env) for _ in range(workers)
        ]
        self._open_scans: set[str] = set()
        self._lock = threading.Lock()

    def open_scan(self, scan_id: str) -> _RabbitMQScan:
        with self._lock:
            if scan_id in self._open_scans:
                raise ValueError(f"scan_id: {scan_id!r} already has an open channel")
            self._open_scans.add(scan_id)
        try:
            return _RabbitMQScan(
                self.broker_url, self.task_queue, scan_id, self._forget, self.tasks_per_message
            )
        except BaseException:
            self._forget(scan_id)
            raise

    def _forget(self, scan_id: str) -> None:
        with self._lock:
            self._open_scans.discard(scan_id)

    def close(self) -> None:
        for process in self._local_workers:
            if process.poll() is None:
                process.terminate()
        for process in self._local_workers:
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._local_workers.clear()

    def __enter__(self) -> RabbitMQPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def start_worker_process(
    broker_url: str,
    task_queue: str,
    *extra_args: str,
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """A ``skyscan worker`` subprocess on ``task_queue`` (the broker URL goes by environment, not argv);
    ``env``: variables added to the environment it inherits."""
    env = {**os.environ, **(env or {}), BROKER_URL_ENV: broker_url}
    command = [sys.executable, "-m", "skyscan.cli", "worker", "--queue", task_queue, *extra_args]
    return subprocess.Popen(command, env=env, **popen)
