"""The Kafka poll loop: take a batch, record it in the inbox, then store offsets.

Offsets are stored only after the inbox transaction commits (``enable.auto.offset.store=false``);
librdkafka commits stored offsets every second and on rebalance/close. A message redelivered after
a crash hits the inbox's unique (topic, partition, offset, bytes) key and is counted, not handled
twice. If the store is down, nothing is stored: the consumer seeks back and takes the same batch
again after an exponential backoff (0.5 s doubling up to ``store_retry_max_s``, 2 s by default), one
log line per try (repeats held back by the log's repeat limiter): the first batch after an outage
is recorded within about ``store_retry_max_s`` of the store taking connections again.

A subscribed topic that does not exist yet (``UNKNOWN_TOPIC_OR_PART`` before any of its partitions
was assigned: a daemon started before its input topic was made) is waited for quietly, logged once
at INFO; its partitions are consumed when it appears (metadata is asked again every 10 s). The same
error for a topic that was being consumed, and every other error of a message, is told.

The positions are watched: a partition whose next message is not where the committed offset said
(offsets reset by the broker, messages skipped by retention, a re-created topic starting at 0) and
a message the broker will not deliver are logged as JSON, counted and told to the shifters.

The cluster is watched too (its id in the metadata, asked every ``CLUSTER_CHECK_S``): a new cluster
at the same address (failed over, rebuilt) starts its offsets again from 0, and a consumer that kept
its old positions would skip the new cluster's first messages, or read nothing until the new log
grows past them. On a changed cluster id every assigned partition goes back to the new cluster's
first offset, and the change is logged, counted and told; messages read again there are compared
by their bytes (the inbox), so nothing is dropped and nothing doubled. The group joined again after a
change (the new cluster's coordinator does not know the member) starts each partition at the new
cluster's committed offset, which may be one the consumer committed there from the old cluster before
it saw the change: every partition assigned after a change goes back to where this consumer recorded
to on the new cluster, or to its first offset. The id is compared with the one of the last check:
clusters replaced twice between two checks are one change (told once), and every partition is read
again from the newest one's first offset all the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from skymist.ingest.inbox import Ingestor, IngestResult, RawMessage, StoreUnavailableError
from skymist.ingest.shifters import StreamEvent, tell_stream_event
from skymist.kafka_clients import KafkaConsumer

log = logging.getLogger(__name__)

#: first wait before a batch the store could not take is taken again (then doubled, up to the
#: ``store_retry_max_s`` setting)
STORE_BACKOFF_FIRST_S = 0.5
#: errors of a subscribed topic the broker does not know (yet)
TOPIC_MISSING = frozenset({KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC})
#: how often the cluster's id is asked (a metadata request of one topic), and how long it may take
CLUSTER_CHECK_S = 5.0
CLUSTER_CHECK_TIMEOUT_S = 1.0
#: how many times a rewind's seek is made again before the partition goes on from where it is
REWIND_SEEKS = 20


@dataclass
class Rewind:
    """A partition sent back to ``target`` on a new cluster; ``seeks``: seeks made again since."""

    target: int
    seeks: int = 0


def _position(message: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a delivered message (librdkafka sets all three on one)."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError(f"a delivered Kafka message without a position: {topic}/{partition}/{offset}")
    return topic, partition, offset


class StreamConsumer:
    def __init__(
        self,
        consumer: KafkaConsumer,
        ingestor: Ingestor,
        topics: list[str],
        batch_size: int,
        on_batch: Callable[[list[IngestResult]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.consumer = consumer
        self.ingestor = ingestor
        self.topics = topics
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.stop = stop or threading.Event()
        self._subscribed = False
        self._failures = 0
        #: the next offset each partition should deliver (None: not known, nothing committed yet)
        self._expected: dict[tuple[str, int], int | None] = {}
        #: the id of the cluster the positions belong to, and when it was last asked
        self.cluster_id: str | None = None
        self._cluster_checked = -float("inf")
        self._rewinds: dict[tuple[str, int], Rewind] = {}
        #: partitions seen since the cluster changed (None: no change seen)
        self._since_change: set[tuple[str, int]] | None = None
        #: the next offset to read of each partition, as far as this consumer recorded on this cluster
        self._recorded_to: dict[tuple[str, int], int] = {}
        #: topics with a partition assigned since the start, and those waited for (not made yet)
        self._topics_seen: set[str] = set()
        self._topics_awaited: set[str] = set()

    def _on_assign(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        for p in partitions:
            self._expected.pop((p.topic, p.partition), None)
        arrived = self._topics_awaited & {p.topic for p in partitions}
        self._topics_seen.update(p.topic for p in partitions)
        for topic in sorted(arrived):
            self._topics_awaited.discard(topic)
            log.info("the input topic exists now; consuming it", extra={"topic": topic})
        if self._since_change is not None:
            # the group was joined again after a cluster change: the new cluster's committed offsets
            # may be positions of the old one (committed before the change was seen), past messages
            # never read
            for p in partitions:
                self._read_again(p.topic, p.partition)
        log.info(
            "partitions assigned", extra={"partitions": [f"{p.topic}/{p.partition}" for p in partitions]}
        )

    def _on_revoke(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        for p in partitions:
            self._expected.pop((p.topic, p.partition), None)
        log.info("partitions revoked", extra={"partitions": [f"{p.topic}/{p.partition}" for p in partitions]})
        self.commit()

    # -- the positions ----------------------------------------------------------------------------
    def _tell(
        self,
        kind: StreamEvent,
        topic: str,
        partition: int,
        offset: int,
        count: int,
        detail: str,
        key_detail: str = "",
    ) -> None:
        app = self.ingestor.app
        try:
            with app.sessions() as session, session.begin():
                tell_stream_event(
                    session,
                    app,
                    kind,
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    count=count,
                    detail=detail,
                    key_detail=key_detail,
                )
        except Exception as exc:  # the store is away: the log line and the counter remain
            log.warning(
                "could not queue the shifters' message about the input stream",
                extra={"event": kind.value, "topic": topic, "partition": partition, "error": str(exc)[:200]},
            )

    # -- the cluster --------------------------------------------------------------------------------
    def check_cluster(self) -> bool:
        """Ask the cluster's id; if it changed, every partition is to be read again (True)."""
        self._cluster_checked = time.monotonic()
        try:
            metadata = self.consumer.list_topics(topic=self.topics[0], timeout=CLUSTER_CHECK_TIMEOUT_S)
        except KafkaException:  # the broker is away: asked again at the next check
            return False
        found = metadata.cluster_id
        if not found:
            return False
        previous, self.cluster_id = self.cluster_id, found
        if previous is None:
            log.info("input cluster", extra={"cluster_id": found})
            return False
        if previous == found:
            return False
        self._since_change = set()
        self._recorded_to.clear()
        try:  # the partitions held now go back at once (they may already be at the new log's end)
            assigned = [(p.topic, p.partition) for p in self.consumer.assignment()]
        except KafkaException:
            assigned = []
        for topic, partition in assigned:
            self._seek(topic, partition, self._read_again(topic, partition))
        self._tell(
            StreamEvent.CLUSTER_CHANGED,
            ",".join(self.topics),
            -1,
            0,
            1,
            f"the input cluster's id changed from {previous} to {found} (failed over, rebuilt or a "
            "different cluster at the same address); every partition is read again from the new "
            "cluster's first offset, messages compared by their bytes",
            key_detail=found,
        )
        return True

    def _read_again(self, topic: str, partition: int) -> int:
        """A partition held since a cluster change goes back to where this consumer recorded to on the
        new cluster, or to its first offset there (:meth:`_rewind_to_start`); returns the target."""
        key = (topic, partition)
        assert self._since_change is not None
        self._since_change.add(key)
        if key in self._recorded_to:
            self._rewinds[key] = Rewind(self._recorded_to[key])
        else:
            self._rewind_to_start(topic, partition)
        return self._rewinds[key].target

    def _rewind_to_start(self, topic: str, partition: int) -> None:
        """Send a partition back to its first offset on the (new) cluster: those assigned when the
        change is seen at once, any other at its first message since (assigned only later, after the
        group was lost).

        Not to the new cluster's committed offset: until the change was seen, this consumer may have
        stored (and committed there) positions it kept from the old cluster, past messages it never
        read. Reading again from the start costs only time: a message already recorded (the same
        bytes at the same position) is a redelivery. A seek can be overtaken by a fetch already under
        way (librdkafka then delivers from the old position): until a partition delivers at its
        target, later messages are not taken and the seek is made again (``_rewound``)."""
        try:
            target, _high = self.consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=5, cached=False
            )
        except KafkaException:
            target = 0
        self._expected.pop((topic, partition), None)
        self._rewinds[(topic, partition)] = Rewind(target)
        log.info(
            "partition read again on a new cluster",
            extra={"topic": topic, "partition": partition, "from_offset": target},
        )

    def _seek(self, topic: str, partition: int, offset: int) -> None:
        try:
            self.consumer.seek(TopicPartition(topic, partition, offset))
        except KafkaException as exc:
            log.warning(
                "seek failed", extra={"error": str(exc)[:200], "topic": topic, "partition": partition}
            )

    def _rewound(self, topic: str, partition: int, offset: int) -> bool:
        """Whether a message at ``offset`` may be taken: False while a rewind of its partition has not
        yet reached its target (the message came from before the seek; it is read again)."""
        rewind = self._rewinds.get((topic, partition))
        if rewind is None:
            return True
        if offset <= rewind.target or rewind.seeks >= REWIND_SEEKS:
            if offset > rewind.target:
                log.warning(
                    "a rewound partition never delivered its target offset; going on",
                    extra={"topic": topic, "partition": partition, "target": rewind.target, "offset": offset},
                )
            del self._rewinds[(topic, partition)]
            return True
        rewind.seeks += 1
        self._seek(topic, partition, rewind.target)
        return False

    def _committed(self, topic: str, partition: int) -> int | None:
        try:
            (found,) = self.consumer.committed([TopicPartition(topic, partition)], timeout=5)
        except KafkaException:
            return None
        return int(found.offset) if found.offset >= 0 else None

    def _check_position(self, topic: str, partition: int, offset: int) -> None:
        key = (topic, partition)
        if key not in self._expected:
            self._expected[key] = self._committed(topic, partition)
        expected = self._expected[key]
        if expected is not None and offset > expected:
            self._tell(
                StreamEvent.OFFSETS_SKIPPED,
                topic,
                partition,
                expected,
                offset - expected,
                f"the next message was expected at offset {expected} but came at {offset}: "
                f"{offset - expected} message(s) were never delivered (retention ran out before they "
                "were read, or compaction/transaction markers)",
            )
        elif expected is not None and offset < expected:
            self._tell(
                StreamEvent.OFFSET_RESET,
                topic,
                partition,
                offset,
                1,
                f"the partition went back from offset {expected} to {offset} (topic re-created, "
                "new cluster or offsets reset); messages at known positions are compared by their bytes",
            )
        self._expected[key] = offset + 1

    def _topic_missing(self, topic: str | None, error: KafkaError) -> bool:
        """Whether ``error`` says a subscribed topic not seen yet does not exist (yet): logged once at
        INFO, never told (the broker withheld no message: there was none)."""
        if error.code() not in TOPIC_MISSING or topic is None or topic in self._topics_seen:
            return False
        if topic not in self._topics_awaited:
            self._topics_awaited.add(topic)
            log.info(
                "waiting for the input topic to exist",
                extra={"topic": topic, "error": error.str()[:200]},
            )
        else:
            log.debug("the input topic does not exist yet", extra={"topic": topic})
        return True

    def _message_error(self, message: Any) -> None:
        error = message.error()
        code = error.code()
        if code == KafkaError._PARTITION_EOF:
            return
        topic, partition = message.topic(), message.partition()
        if self._topic_missing(topic, error):
            return
        if code == KafkaError._AUTO_OFFSET_RESET and topic is not None:
            self._expected.pop((topic, partition), None)
            offset = max(message.offset() or 0, 0)
            self._tell(StreamEvent.OFFSET_RESET, topic, partition, offset, 1, error.str())
        elif topic is not None and partition is not None and partition >= 0 and not error.retriable():
            self._tell(
                StreamEvent.UNDELIVERABLE,
                topic,
                partition,
                max(message.offset() or 0, 0),
                1,
                f"the broker or client would not deliver a message: {error.str()}",
            )
        else:
            log.warning("consumer error", extra={"error": error.str()})

    def subscribe(self) -> None:
        self.consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        self._subscribed = True

    def commit(self) -> None:
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("offset commit failed", extra={"error": str(exc)})

    def poll_once(self, timeout_s: float) -> list[IngestResult]:
        """One cycle: consume up to ``batch_size`` messages, record them, store their offsets."""
        if not self._subscribed:
            self.subscribe()
        if time.monotonic() - self._cluster_checked >= CLUSTER_CHECK_S:
            self.check_cluster()
        # wait for the first message only; then take what is already there (never wait to fill a batch)
        first = self.consumer.poll(timeout_s)
        if first is None:
            return []
        messages = [first]
        if self.batch_size > 1:
            messages += self.consumer.consume(num_messages=self.batch_size - 1, timeout=0)
        raw = [taken for taken in map(self._take, messages) if taken is not None]
        if not raw:
            return []
        try:
            results = self.ingestor.ingest_batch(raw)
        except Exception as exc:
            self._not_recorded(exc, raw)
            return []
        if self._failures:
            log.info("recording again after the store came back", extra={"failures": self._failures})
            self._failures = 0
        offsets = self._next_offsets(raw)
        self.consumer.store_offsets(offsets=offsets)
        for tp in offsets:
            self._recorded_to[(tp.topic, tp.partition)] = int(tp.offset)
        if self.on_batch is not None:
            self.on_batch(results)
        return results

    def _take(self, message: Message) -> RawMessage | None:
        """The message to record (None: an error, told or logged, or one skipped by a rewind)."""
        if message.error() is not None:
            self._message_error(message)
            return None
        topic, partition, offset = _position(message)
        if self._since_change is not None and (topic, partition) not in self._since_change:
            self._read_again(topic, partition)
        if self._rewinds and not self._rewound(topic, partition, offset):
            return None
        self._check_position(topic, partition, offset)
        _ts_type, ts = message.timestamp()
        return RawMessage(
            topic=topic,
            partition=partition,
            offset=offset,
            value=message.value() or b"",
            key=message.key(),
            timestamp_ms=ts if ts and ts > 0 else None,
        )

    def _not_recorded(self, exc: Exception, raw: list[RawMessage]) -> None:
        """A batch the store did not take: rewound to be taken again after a growing pause."""
        self._failures += 1
        longest = self.ingestor.app.settings.store_retry_max_s
        delay = min(longest, STORE_BACKOFF_FIRST_S * 2.0 ** min(self._failures - 1, 16))
        self.ingestor.app.metrics.inc("ingest_store_unavailable")
        extra = {"error": str(exc)[:300], "failures": self._failures, "retry_in_s": delay}
        if isinstance(exc, StoreUnavailableError) or self._failures > 1:
            log.warning("could not record a batch; it will be taken again", extra=extra)
        else:  # not the store: show where, once
            log.exception("could not record a batch; it will be taken again", extra=extra)
        self._rewind(raw)
        self.stop.wait(delay)

    @staticmethod
    def _next_offsets(raw: list[RawMessage]) -> list[TopicPartition]:
        highest: dict[tuple[str, int], int] = {}
        for message in raw:
            key = (message.topic, message.partition)
            highest[key] = max(highest.get(key, -1), message.offset)
        return [
            TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in highest.items()
        ]

    def _rewind(self, raw: list[RawMessage]) -> None:
        lowest: dict[tuple[str, int], int] = {}
        for message in raw:
            key = (message.topic, message.partition)
            lowest[key] = min(lowest.get(key, message.offset), message.offset)
        for (topic, partition), offset in lowest.items():
            self._expected[(topic, partition)] = offset
            try:
                self.consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:
                log.warning("seek failed", extra={"error": str(exc)})

    def run(self, stop: threading.Event, on_idle: Callable[[], None] | None = None) -> None:
        while not stop.is_set():
            self.poll_once(0.2)
            if on_idle is not None:
                on_idle()

    def close(self) -> None:
        self.commit()
        self.consumer.close()
