"""``skyscan worker``: consume task messages from RabbitMQ, fit their tasks, publish the outcomes.

A task message carries one or more pixel tasks (:mod:`.messages`). The reliability contract, in the
order things happen for each message:

1. the message arrives unacknowledged (at most ``prefetch`` messages at a time, default 2);
2. its tasks are fitted one after another in a child process
   (:class:`~skyscan.workers.compute.ComputeProcess`), while this process keeps the connection's
   heartbeats going;
3. once all are fitted, their outcomes are published in one outcome message to the message's
   ``reply_to`` queue and confirmed by the broker (publisher confirms). Outcomes are transient
   messages: confirmed once the scan's queue holds them, without a disk write each (a persistent
   outcome's confirm took 7-15 ms, more than a fit). A broker restart would lose them, but it also
   ends the scan's connection and so the scan itself; what they must survive, a worker dying, they do;
4. only then is the message acknowledged. A worker killed before that (even with -9) leaves the
   message unacknowledged and the broker delivers it to another worker, all its tasks counted as
   delivered once more; the scan ignores the duplicate outcomes of tasks fitted twice.

Pipelining: as soon as a message's last fit ends, the child is given the first task of the next
prefetched message, and only then are the finished message's outcomes published and confirmed, so the
broker's confirm overlaps the next fit instead of idling the CPU. Each message is still acknowledged only
after its own outcomes are confirmed. With ``prefetch`` 1 there is no next message at hand and the
worker runs one message at a time.

A fit that overruns its task's ``timeout_s`` (``max_pixel_reco_time``) is abandoned (its child is
killed). The worker then gives the message back: it publishes the outcomes of the message's tasks fitted
so far with a ``timeout`` notice for the overrun one, stops consuming (giving back its prefetched
messages), publishes the overrun task (counted as delivered once more) and the message's tasks not yet
fitted as a new task message, acknowledges the message, and backs off (pauses) before consuming again,
so that another worker takes them. A worker told to stop gives its message back the same way (outcomes
so far; the consumer cancelled; the interrupted task, counted as delivered once more, and those after it
as a new task message; the acknowledgement), without the notice and the pause. An outcome message whose result
queue no longer exists (the scan ended) is unroutable: the task message is acknowledged and dropped.
An unreadable task message is rejected without requeue.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pika
import pika.exceptions
import pika.spec
from pika.adapters.blocking_connection import BlockingChannel

from skybase.states import checked
from skyscan.workers.compute import ComputeProcess, worker_name
from skyscan.workers.messages import (
    MessageError,
    OutcomeKind,
    PixelOutcome,
    PixelTask,
    decode_tasks,
    encode_outcomes,
    encode_tasks,
)
from skyscan.workers.pool import DEFAULT_PREFETCH, DEFAULT_TASK_QUEUE
from skyscan.workers.rabbitmq import connect, declare_task_queue, task_message_properties

LOG = logging.getLogger(__name__)
_POLL_S = 0.05
MAX_BACKOFF_S = 60.0


class WorkerState(enum.Enum):
    CONNECTING = "connecting"
    WAITING = "waiting for a task"
    FITTING = "fitting"
    REPORTING = "reporting"  # publishing a fitted message's outcomes (the next fit may be running)
    GIVING_BACK = "giving back"  # publishing an overrun or interrupted message's outcomes and rest
    BACKING_OFF = "backing off"
    STOPPED = "stopped"


_TRANSITIONS: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.CONNECTING: frozenset({WorkerState.WAITING, WorkerState.STOPPED}),
    WorkerState.WAITING: frozenset({WorkerState.FITTING, WorkerState.STOPPED}),
    WorkerState.FITTING: frozenset({WorkerState.REPORTING, WorkerState.GIVING_BACK, WorkerState.STOPPED}),
    WorkerState.REPORTING: frozenset({WorkerState.WAITING, WorkerState.FITTING, WorkerState.STOPPED}),
    WorkerState.GIVING_BACK: frozenset({WorkerState.WAITING, WorkerState.BACKING_OFF, WorkerState.STOPPED}),
    WorkerState.BACKING_OFF: frozenset({WorkerState.WAITING, WorkerState.STOPPED}),
    WorkerState.STOPPED: frozenset(),
}


@dataclass
class WorkerStats:
    """Tasks fitted, timed out and failed, and tasks dropped because their scan had ended."""

    fitted: int = 0
    timeouts: int = 0
    errors: int = 0
    dropped: int = 0

    def count(self, outcomes: Sequence[PixelOutcome]) -> None:
        for outcome in outcomes:
            if outcome.kind is OutcomeKind.FIT:
                self.fitted += 1
            elif outcome.kind is OutcomeKind.TIMEOUT:
                self.timeouts += 1
            else:
                self.errors += 1


@dataclass(frozen=True)
class _Delivery:
    tag: int
    redelivered: bool
    reply_to: str | None
    body: bytes


@dataclass
class _Message:
    """A task message being fitted: its delivery, its tasks, and the outcomes of the first ones so far.

    The child has the first task without an outcome (:attr:`fitting`).
    """

    delivery: _Delivery
    tasks: list[PixelTask]
    outcomes: list[PixelOutcome] = field(default_factory=list)

    @property
    def fitting(self) -> PixelTask:
        return self.tasks[len(self.outcomes)]

    @property
    def fitted(self) -> bool:
        return len(self.outcomes) == len(self.tasks)

    def rest(self) -> list[PixelTask]:
        """The tasks to give back: the one the child had (counted as delivered once more) and those after."""
        done = len(self.outcomes)
        return [self.tasks[done].redelivered(), *self.tasks[done + 1 :]]


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
            current: _Message | None = None
            # a message in hand is seen through (fitted, or given back once stop is set)
            while current is not None or not self.stop.is_set():
                if current is None:
                    if not self._inbox:
                        connection.process_data_events(time_limit=0.5)
                        continue
                    current = self._start(channel, compute)
                    continue
                task = current.fitting
                outcome = self._outcome(connection, compute, task)
                if outcome is None or outcome.kind is OutcomeKind.TIMEOUT:
                    self._give_back(channel, current, outcome)
                    current = None
                    if self.state is WorkerState.BACKING_OFF:
                        self._back_off(connection, channel, task)
                    continue
                current.outcomes.append(outcome)
                if not current.fitted:
                    compute.submit(current.fitting)
                    continue
                finished = current
                # the next message's first fit runs while this one's outcomes are confirmed
                connection.process_data_events(time_limit=0)
                current = self._start(channel, compute)
                self._report(channel, finished, fitting=current is not None)
        finally:
            self._move(WorkerState.STOPPED)
            compute.close()
            if connection.is_open:
                connection.close()  # unacknowledged messages go back to the queue
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

    def _start(self, channel: BlockingChannel, compute: ComputeProcess) -> _Message | None:
        """Give the child the first task of the first readable message of the inbox (unreadable
        messages are rejected)."""
        while self._inbox:
            delivery = self._inbox.popleft()
            try:
                tasks = decode_tasks(delivery.body, redelivered=delivery.redelivered)
            except MessageError as exc:
                LOG.error("worker %s: rejected an unreadable task message: %s", self.name, exc)
                channel.basic_reject(delivery_tag=delivery.tag, requeue=False)
                continue
            if not delivery.reply_to:
                LOG.error(
                    "worker %s: rejected tasks of scan %s without reply_to", self.name, tasks[0].scan_id
                )
                channel.basic_reject(delivery_tag=delivery.tag, requeue=False)
                continue
            compute.submit(tasks[0])
            if self.state is WorkerState.WAITING:
                self._move(WorkerState.FITTING)
            return _Message(delivery, tasks)
        return None

    def _report(self, channel: BlockingChannel, finished: _Message, *, fitting: bool) -> None:
        """Publish the outcomes of ``finished``'s tasks, wait for the confirm, then acknowledge it.

        Ends in FITTING if the next task is already with the child, else WAITING.
        """
        self._move(WorkerState.REPORTING)
        if self._publish(channel, finished, finished.outcomes):
            self.stats.count(finished.outcomes)
            channel.basic_ack(delivery_tag=finished.delivery.tag)
        self._move(WorkerState.FITTING if fitting else WorkerState.WAITING)

    def _give_back(self, channel: BlockingChannel, message: _Message, notice: PixelOutcome | None) -> None:
        """Publish the outcomes so far (and the ``timeout`` ``notice`` if the fit overran), stop
        consuming, publish the rest of ``message`` as a new task message, then acknowledge ``message``.

        Ends in BACKING_OFF after a timeout notice was published, else WAITING.
        """
        self._move(WorkerState.GIVING_BACK)
        delivery = message.delivery
        outcomes = [*message.outcomes, *([] if notice is None else [notice])]
        if outcomes and not self._publish(channel, message, outcomes):
            self._move(WorkerState.WAITING)
            return
        self.stats.count(outcomes)
        # before the acknowledgement below frees a prefetch slot, which the broker would fill (maybe with
        # the tasks given back) for this worker to give back unfitted, flagged redelivered
        self._stop_consuming(channel)
        if notice is not None:
            LOG.warning(
                "worker %s: %s (scan %s nside %d pixel %d)",
                self.name,
                notice.error,
                notice.scan_id,
                notice.nside,
                notice.pixel,
            )
        assert delivery.reply_to is not None  # _start rejects a message without one
        try:
            channel.basic_publish(
                exchange="",
                routing_key=self.task_queue,
                body=encode_tasks(message.rest()),
                properties=task_message_properties(delivery.reply_to),
                mandatory=True,
            )
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError):
            LOG.warning(
                "worker %s: could not give tasks back; the broker redelivers their message", self.name
            )
            channel.basic_nack(delivery_tag=delivery.tag, requeue=True)
        else:
            channel.basic_ack(delivery_tag=delivery.tag)
        self._move(WorkerState.WAITING if notice is None else WorkerState.BACKING_OFF)

    def _outcome(
        self, connection: pika.BlockingConnection, compute: ComputeProcess, task: PixelTask
    ) -> PixelOutcome | None:
        """The outcome of ``task``, which the child is fitting; None if this worker is stopping."""
        while True:
            outcome = compute.poll(_POLL_S)
            if outcome is not None:
                return outcome
            connection.process_data_events(time_limit=0)  # heartbeats; prefetched messages wait in the inbox
            if self.stop.is_set():
                compute.interrupt()
                compute.poll(5.0)
                return None
            if compute.overran(task.timeout_s):
                return compute.abandon()

    def _publish(self, channel: BlockingChannel, message: _Message, outcomes: Sequence[PixelOutcome]) -> bool:
        """Publish ``outcomes`` of ``message``'s tasks in one message and wait for the confirm; False if
        ``message`` was settled otherwise (its scan ended: dropped; the broker refused: requeued)."""
        delivery = message.delivery
        assert delivery.reply_to is not None
        try:
            channel.basic_publish(
                exchange="",
                routing_key=delivery.reply_to,
                body=encode_outcomes(outcomes),
                properties=pika.BasicProperties(content_type="application/json", delivery_mode=1),
                mandatory=True,
            )
        except pika.exceptions.UnroutableError:
            LOG.info("worker %s: scan %s has ended; dropped its tasks", self.name, outcomes[0].scan_id)
            self.stats.dropped += len(message.tasks)
            channel.basic_ack(delivery_tag=delivery.tag)
            return False
        except pika.exceptions.NackError:
            LOG.warning("worker %s: the broker refused the outcomes; tasks given back", self.name)
            channel.basic_nack(delivery_tag=delivery.tag, requeue=True)
            return False
        return True

    def _stop_consuming(self, channel: BlockingChannel) -> None:
        """Cancel the consumer and give back the prefetched messages (the broker flags them redelivered)."""
        if self._consumer_tag is not None:
            channel.basic_cancel(self._consumer_tag)
            self._consumer_tag = None
        while self._inbox:
            channel.basic_nack(delivery_tag=self._inbox.popleft().tag, requeue=True)

    def _back_off(
        self, connection: pika.BlockingConnection, channel: BlockingChannel, task: PixelTask
    ) -> None:
        """Pause, not consuming (:meth:`_give_back` stopped it), so another worker takes ``task``; then
        consume again."""
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
