"""``skyscan worker``: consume pixel tasks from RabbitMQ, fit them, publish the outcomes.

The reliability contract, in the order things happen for each task:

1. the task arrives unacknowledged (at most ``prefetch`` at a time);
2. it is fitted in a child process (:class:`~skyscan.workers.compute.ComputeProcess`), while this
   process keeps the connection's heartbeats going;
3. the outcome is published to the task's ``reply_to`` queue and confirmed by the broker
   (publisher confirms);
4. only then is the task acknowledged. A worker killed before that (even with -9) leaves the task
   unacknowledged and the broker delivers it to another worker; the scan ignores a duplicate outcome.

A fit that overruns the task's ``timeout_s`` (``max_pixel_reco_time``) is abandoned (its child is
killed), a ``timeout`` notice is published, the task is nacked for redelivery, and this worker backs off
(stops consuming for a while) so that another worker takes it. An outcome whose result queue no longer
exists (the scan ended) is unroutable: the task is acknowledged and dropped. An unreadable task is
rejected without requeue.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from dataclasses import dataclass, field

import pika
import pika.exceptions
import pika.spec
from pika.adapters.blocking_connection import BlockingChannel

from skyscan.workers.compute import ComputeProcess, worker_name
from skyscan.workers.messages import MessageError, OutcomeKind, PixelOutcome, PixelTask
from skyscan.workers.pool import DEFAULT_TASK_QUEUE
from skyscan.workers.rabbitmq import connect, declare_task_queue

LOG = logging.getLogger(__name__)
_POLL_S = 0.05
MAX_BACKOFF_S = 60.0


class WorkerState(enum.Enum):
    CONNECTING = "connecting"
    WAITING = "waiting for a task"
    FITTING = "fitting"
    REPORTING = "reporting"
    BACKING_OFF = "backing off"
    STOPPED = "stopped"


_TRANSITIONS: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.CONNECTING: frozenset({WorkerState.WAITING, WorkerState.STOPPED}),
    WorkerState.WAITING: frozenset({WorkerState.FITTING, WorkerState.STOPPED}),
    WorkerState.FITTING: frozenset({WorkerState.REPORTING, WorkerState.WAITING, WorkerState.STOPPED}),
    WorkerState.REPORTING: frozenset({WorkerState.WAITING, WorkerState.BACKING_OFF, WorkerState.STOPPED}),
    WorkerState.BACKING_OFF: frozenset({WorkerState.WAITING, WorkerState.STOPPED}),
    WorkerState.STOPPED: frozenset(),
}


@dataclass
class WorkerStats:
    fitted: int = 0
    timeouts: int = 0
    errors: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class _Delivery:
    tag: int
    redelivered: bool
    reply_to: str | None
    body: bytes


@dataclass
class PixelWorker:
    """One consumer of the task queue; :meth:`run` until ``stop`` is set."""

    broker_url: str
    task_queue: str = DEFAULT_TASK_QUEUE
    prefetch: int = 1
    backoff_s: float | None = None  # None: the overrun task's time limit, at most MAX_BACKOFF_S
    stop: threading.Event = field(default_factory=threading.Event)
    name: str = field(default_factory=worker_name)
    state: WorkerState = WorkerState.CONNECTING
    stats: WorkerStats = field(default_factory=WorkerStats)

    def __post_init__(self) -> None:
        if self.prefetch < 1:
            raise ValueError(f"prefetch: must be >= 1, got {self.prefetch}")
        self._inbox: collections.deque[_Delivery] = collections.deque()
        self._consumer_tag: str | None = None

    def _move(self, target: WorkerState) -> None:
        if target not in _TRANSITIONS[self.state]:
            raise RuntimeError(f"worker: cannot go from {self.state.value} to {target.value}")
        LOG.debug("worker %s: %s -> %s", self.name, self.state.value, target.value)
        self.state = target

    def run(self) -> WorkerStats:
        compute = ComputeProcess(self.name)
        connection = connect(self.broker_url)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            declare_task_queue(channel, self.task_queue)
            channel.basic_qos(prefetch_count=self.prefetch)
            compute.start()
            self._consume(channel)
            self._move(WorkerState.WAITING)
            LOG.info("worker %s: consuming %s", self.name, self.task_queue)
            while not self.stop.is_set():
                if not self._inbox:
                    connection.process_data_events(time_limit=0.5)
                    continue
                self._handle(connection, channel, compute, self._inbox.popleft())
        finally:
            self._move(WorkerState.STOPPED)
            compute.close()
            if connection.is_open:
                connection.close()  # unacknowledged tasks go back to the queue
        return self.stats

    def _consume(self, channel: BlockingChannel) -> None:
        def on_task(
            ch: BlockingChannel,
            method: pika.spec.Basic.Deliver,
            properties: pika.spec.BasicProperties,
            body: bytes,
        ) -> None:
            self._inbox.append(
                _Delivery(method.delivery_tag, bool(method.redelivered), properties.reply_to, body)
            )

        self._consumer_tag = channel.basic_consume(queue=self.task_queue, on_message_callback=on_task)

    def _handle(
        self,
        connection: pika.BlockingConnection,
        channel: BlockingChannel,
        compute: ComputeProcess,
        delivery: _Delivery,
    ) -> None:
        try:
            task = PixelTask.decode(delivery.body, delivery=2 if delivery.redelivered else 1)
        except MessageError as exc:
            LOG.error("worker %s: rejected an unreadable task: %s", self.name, exc)
            channel.basic_reject(delivery_tag=delivery.tag, requeue=False)
            return
        if not delivery.reply_to:
            LOG.error("worker %s: rejected a task of scan %s without reply_to", self.name, task.scan_id)
            channel.basic_reject(delivery_tag=delivery.tag, requeue=False)
            return
        self._move(WorkerState.FITTING)
        outcome = self._fit(connection, compute, task)
        if outcome is None:  # stopping: give the task back
            channel.basic_nack(delivery_tag=delivery.tag, requeue=True)
            self._move(WorkerState.WAITING)
            return
        self._move(WorkerState.REPORTING)
        if not self._publish(channel, delivery, outcome):
            self._move(WorkerState.WAITING)
            return
        if outcome.kind is OutcomeKind.TIMEOUT:
            self.stats.timeouts += 1
            channel.basic_nack(delivery_tag=delivery.tag, requeue=True)
            LOG.warning(
                "worker %s: %s (scan %s nside %d pixel %d)",
                self.name,
                outcome.error,
                task.scan_id,
                task.nside,
                task.pixel,
            )
            self._back_off(connection, channel, task)
            return
        if outcome.kind is OutcomeKind.ERROR:
            self.stats.errors += 1
        else:
            self.stats.fitted += 1
        channel.basic_ack(delivery_tag=delivery.tag)
        self._move(WorkerState.WAITING)

    def _fit(
        self, connection: pika.BlockingConnection, compute: ComputeProcess, task: PixelTask
    ) -> PixelOutcome | None:
        compute.submit(task)
        deadline = None if task.timeout_s is None else time.monotonic() + task.timeout_s
        while True:
            outcome = compute.poll(_POLL_S)
            if outcome is not None:
                return outcome
            connection.process_data_events(time_limit=0)  # heartbeats; prefetched tasks wait in the inbox
            if self.stop.is_set():
                compute.interrupt()
                compute.poll(5.0)
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return compute.abandon()

    def _publish(self, channel: BlockingChannel, delivery: _Delivery, outcome: PixelOutcome) -> bool:
        """Publish and confirm; False if the task was settled otherwise (scan gone, broker refused)."""
        assert delivery.reply_to is not None
        try:
            channel.basic_publish(
                exchange="",
                routing_key=delivery.reply_to,
                body=outcome.encode(),
                properties=pika.BasicProperties(content_type="application/json", delivery_mode=2),
                mandatory=True,
            )
        except pika.exceptions.UnroutableError:
            LOG.info("worker %s: scan %s has ended; dropped its task", self.name, outcome.scan_id)
            self.stats.dropped += 1
            channel.basic_ack(delivery_tag=delivery.tag)
            return False
        except pika.exceptions.NackError:
            LOG.warning("worker %s: the broker refused the outcome; task given back", self.name)
            channel.basic_nack(delivery_tag=delivery.tag, requeue=True)
            return False
        return True

    def _back_off(
        self, connection: pika.BlockingConnection, channel: BlockingChannel, task: PixelTask
    ) -> None:
        """Stop consuming for a while, giving back prefetched tasks, so another worker takes the task."""
        self._move(WorkerState.BACKING_OFF)
        if self._consumer_tag is not None:
            channel.basic_cancel(self._consumer_tag)
            self._consumer_tag = None
        while self._inbox:
            channel.basic_nack(delivery_tag=self._inbox.popleft().tag, requeue=True)
        pause = self.backoff_s if self.backoff_s is not None else min(task.timeout_s or 0.0, MAX_BACKOFF_S)
        until = time.monotonic() + pause
        while not self.stop.is_set() and time.monotonic() < until:
            connection.sleep(min(0.5, max(0.0, until - time.monotonic())))
        self._consume(channel)
        self._move(WorkerState.WAITING)


def serve(
    broker_url: str,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    prefetch: int = 1,
    backoff_s: float | None = None,
    stop: threading.Event | None = None,
    max_reconnect_delay_s: float = 30.0,
) -> WorkerStats:
    """Run a worker until ``stop``; when the broker goes away, reconnect with exponential backoff."""
    stop = stop or threading.Event()
    total = WorkerStats()
    delay = 1.0
    while not stop.is_set():
        worker = PixelWorker(
            broker_url, task_queue=task_queue, prefetch=prefetch, backoff_s=backoff_s, stop=stop
        )
        try:
            worker.run()
            delay = 1.0
        except pika.exceptions.AMQPError as exc:
            LOG.warning(
                "worker %s: broker connection lost (%s: %s); reconnecting in %.0f s",
                worker.name,
                type(exc).__name__,
                exc,
                delay,
            )
            stop.wait(delay)
            delay = min(2.0 * delay, max_reconnect_delay_s)
        finally:
            for name in ("fitted", "timeouts", "errors", "dropped"):
                setattr(total, name, getattr(total, name) + getattr(worker.stats, name))
    return total
