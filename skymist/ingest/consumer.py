"""The Kafka poll loop: take a batch, record it in the inbox (one transaction), then store offsets.

Offsets are stored only after the inbox transaction commits (``enable.auto.offset.store=false``);
librdkafka commits stored offsets every second and on rebalance/close. A message redelivered after
a crash hits the inbox's unique (topic, partition, offset) key and is counted, not handled twice.
If the store fails, nothing is stored: the consumer seeks back and takes the same batch again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from skymist.ingest.inbox import Ingestor, IngestResult, RawMessage

log = logging.getLogger(__name__)


class StreamConsumer:
    def __init__(
        self,
        consumer: Any,
        ingestor: Ingestor,
        topics: list[str],
        batch_size: int,
        on_batch: Callable[[list[IngestResult]], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.ingestor = ingestor
        self.topics = topics
        self.batch_size = batch_size
        self.on_batch = on_batch
        self._subscribed = False

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        log.info(
            "partitions assigned", extra={"partitions": [f"{p.topic}/{p.partition}" for p in partitions]}
        )

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        log.info("partitions revoked", extra={"partitions": [f"{p.topic}/{p.partition}" for p in partitions]})
        self.commit()

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
        # wait for the first message only; then take what is already there (never wait to fill a batch)
        first = self.consumer.poll(timeout_s)
        if first is None:
            return []
        messages = [first]
        if self.batch_size > 1:
            messages += self.consumer.consume(num_messages=self.batch_size - 1, timeout=0)
        raw: list[RawMessage] = []
        kafka_messages = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error", extra={"error": error.str()})
                continue
            _ts_type, ts = message.timestamp()
            raw.append(
                RawMessage(
                    topic=message.topic(),
                    partition=message.partition(),
                    offset=message.offset(),
                    value=message.value() or b"",
                    key=message.key(),
                    timestamp_ms=ts if ts and ts > 0 else None,
                )
            )
            kafka_messages.append(message)
        if not raw:
            return []
        try:
            results = self.ingestor.ingest_batch(raw)
        except Exception:
            log.exception("could not record a batch; it will be taken again")
            self._rewind(raw)
            time.sleep(1.0)
            return []
        self.consumer.store_offsets(offsets=self._next_offsets(raw))
        if self.on_batch is not None:
            self.on_batch(results)
        return results

    @staticmethod
    def _next_offsets(raw: list[RawMessage]) -> list[Any]:
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
