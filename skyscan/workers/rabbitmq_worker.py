"""``skyscan worker``: consume pixel tasks from RabbitMQ, fit them, publish the outcomes.

The reliability contract, in the order things happen for each task:

1. the task arrives unacknowledged (at most ``prefetch`` at a time, default 2);
2. it is fitted in a child process (:class:`~skyscan.workers.compute.ComputeProcess`), while this
   process keeps the connection's heartbeats going;
3. the outcome is published to the task's ``reply_to`` queue and confirmed by the broker
   (publisher confirms). Outcomes are transient messages: confirmed once the scan's queue holds them,
   without a disk write each (a persistent outcome's confirm took 7-15 ms, more than a fit). A broker
   restart would lose them, but it also ends the scan's connection and so the scan itself; what
   they must survive, a worker dying, they do;
4. only then is the task acknowledged. A worker killed before that (even with -9) leaves the task
   unacknowledged and the broker delivers it to another worker; the scan ignores a duplicate outcome.

Pipelining: as soon as a fit ends, the child is given the next prefetched task, and only then is the
finished task's outcome published and confirmed, so the broker's confirm (a disk write for a persistent
message: several ms) overlaps the next fit instead of idling the CPU. Each task is still acknowledged
only after its own outcome is confirmed. With ``prefetch`` 1 there is no next task at hand and the worker
runs one task at a time.

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

from skybase.states import checked
from skyscan.workers.compute import ComputeProcess, worker_name
from skyscan.workers.messages import MessageError, OutcomeKind, PixelOutcome, PixelTask
from skyscan.workers.pool import DEFAULT_PREFETCH, DEFAULT_TASK_QUEUE
from skyscan.workers.rabbitmq import connect, declare_task_queue

LOG = logging.getLogger(__name__)
_POLL_S = 0.05
MAX_BACKOFF_S = 60.0


class WorkerState(enum.Enum):
    CONNECTING = "connecting"
    WAITING = "waiting for a task"
    FITTING = "fitting"
    REPORTING = "reporting"  # publishing a finished task's outcome (the next fit may be running)
    BACKING_OFF = "backing off"
    STOPPED = "stopped"


_TRANSITIONS: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.CONNECTING: frozenset({WorkerState.WAITING, WorkerState.STOPPED}),
    WorkerState.WAITING: frozenset({WorkerState.FITTING, WorkerState.STOPPED}),
    WorkerState.FITTING: frozenset({WorkerState.REPORTING, WorkerState.WAITING, WorkerState.STOPPED}),
    WorkerState.REPORTING: frozenset(
        {WorkerState.WAITING, WorkerState.FITTING, WorkerState.BACKING_OFF, WorkerState.STOPPED}
    ),
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


@dataclass(frozen=True)
class _Running:
    """A task given to the compute child, and the delivery to settle once its outcome is confirmed."""

    delivery: _Delivery
    task: PixelTask


@dataclass
class PixelWorker:
    """One consumer of the task queue; :meth:`run` until ``stop`` is set."""

    broker_url: str
    task_queue: str = DEFAULT_TASK_QUEUE
    prefetch: int = DEFAULT_PREFETCH
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
        checked(_TRANSITIONS, self.state, target, f"worker {self.name}")
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
            current: _Running | None = None
            while not self.stop.is_set():
                if current is None:
                    if not self._inbox:
                        connection.process_data_events(time_limit=0.5)
                        continue
                    current = self._start(channel, compute)
                    continue
                outcome = self._outcome(connection, compute, current.task)
                if outcome is None:  # stopping: give the task back
                    channel.basic_nack(delivery_tag=current.delivery.tag, requeue=True)
                    break
                finished, current = current, None
                if outcome.kind is not OutcomeKind.TIMEOUT:
                    # the next fit runs while this outcome is confirmed
                    connection.process_data_events(time_limit=0)
                    current = self._start(channel, compute)
                self._report(connection, channel, finished, outcome, fitting=current is not None)
                if self.state is WorkerState.BACKING_OFF:
                    self._back_off(connection, channel, finished.task)
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

    def _start(self, channel: BlockingChannel, compute: ComputeProcess) -> _Running | None:
        """Give the child the first readable task of the inbox (unreadable ones are rejected)."""
        while self._inbox:
            delivery = self._inbox.popleft()
            try:
                task = PixelTask.decode(delivery.body, delivery=2 if delivery.redelivered else 1)
            except MessageError as exc:
                LOG.error("worker %s: rejected an unreadable task: %s", self.name, exc)
                channel.basic_reject(delivery_tag=delivery.tag, requeue=False)
                continue
            if not delivery.reply_to:
                LOG.error("worker %s: rejected a task of scan %s without reply_to", self.name, task.scan_id)
                channel.basic_reject(delivery_tag=delivery.tag, requeue=False)
                continue
            compute.submit(task)
            if self.state is WorkerState.WAITING:
                self._move(WorkerState.FITTING)
            return _Running(delivery, task)
        return None

    def _report(
        self,
        connection: pika.BlockingConnection,
        channel: BlockingChannel,
        finished: _Running,
        outcome: PixelOutcome,
        *,
        fitting: bool,
    ) -> None:
        """Publish ``finished``'s outcome, wait for its confirm, then settle the task.

        Ends in FITTING if the next task is already with the child, BACKING_OFF after a timeout, else
        WAITING.
        """
        self._move(WorkerState.REPORTING)
        after = WorkerState.FITTING if fitting else WorkerState.WAITING
        delivery, task = finished.delivery, finished.task
        if not self._publish(channel, delivery, outcome):
            self._move(after)
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
            self._move(WorkerState.BACKING_OFF)
            return
        if outcome.kind is OutcomeKind.ERROR:
            self.stats.errors += 1
        else:
            self.stats.fitted += 1
        channel.basic_ack(delivery_tag=delivery.tag)
        self._move(after)

    def _outcome(
        self, connection: pika.BlockingConnection, compute: ComputeProcess, task: PixelTask
    ) -> PixelOutcome | None:
        """The outcome of ``task``, which the child is fitting; None if this worker is stopping."""
        while True:
            outcome = compute.poll(_POLL_S)
            if outcome is not None:
                return outcome
            connection.process_data_events(time_limit=0)  # heartbeats; prefetched tasks wait in the inbox
            if self.stop.is_set():
                compute.interrupt()
                compute.poll(5.0)
                return None
            if compute.overran(task.timeout_s):
                return compute.abandon()

    def _publish(self, channel: BlockingChannel, delivery: _Delivery, outcome: PixelOutcome) -> bool:
        """Publish and confirm; False if the task was settled otherwise (scan gone, broker refused)."""
        assert delivery.reply_to is not None
        try:
            channel.basic_publish(
                exchange="",
                routing_key=delivery.reply_to,
                body=outcome.encode(),
                properties=pika.BasicProperties(content_type="application/json", delivery_mode=1),
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
    prefetch: int = DEFAULT_PREFETCH,
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
