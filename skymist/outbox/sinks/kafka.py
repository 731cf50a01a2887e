"""Kafka sink: produce with delivery acknowledgement; verify in-doubt sends by reading the topic back.

Each message carries the outbox idempotency key in the header ``skymist-idempotency-key``. Before a
row is sent, the dispatcher records a lower bound of the offset it can land at in every partition
(offsets only grow). After a crash, a row left ``sending`` is looked up from those offsets to the
end of the partitions: found means delivered (marked sent, not sent again), not found means resend.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from skymist.kafka_clients import KafkaProducer
from skymist.outbox.sinks.base import OutboxItem, SendResult

HEADER = "skymist-idempotency-key"


class KafkaSink:
    name = "kafka"

    def __init__(self, producer: KafkaProducer, consumer_config: Mapping[str, str], timeout_s: float) -> None:
        self.producer = producer
        self.consumer_config = dict(consumer_config)
        self.timeout_s = timeout_s
        self._floors: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    # -- verification -----------------------------------------------------------------------------
    def _partitions(self, topic: str) -> list[int]:
        metadata = self.producer.list_topics(topic, timeout=self.timeout_s)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            return []
        return sorted(described.partitions)

    def _verify_consumer(self) -> Any:
        config = {
            **self.consumer_config,
            "group.id": f"skymist-verify-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": "false",
            "enable.partition.eof": "true",
            "auto.offset.reset": "earliest",
        }
        return Consumer(config)

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        topic = item_destination
        with self._lock:
            known = {p: o for (t, p), o in self._floors.items() if t == topic}
        if not known:
            partitions = self._partitions(topic)
            if partitions:
                consumer = self._verify_consumer()
                try:
                    for p in partitions:
                        _low, high = consumer.get_watermark_offsets(
                            TopicPartition(topic, p), timeout=self.timeout_s, cached=False
                        )
                        known[p] = max(int(high), 0)
                finally:
                    consumer.close()
                with self._lock:
                    for p, offset in known.items():
                        self._floors[(topic, p)] = max(self._floors.get((topic, p), 0), offset)
        return {"topic": topic, "from_offsets": {str(p): o for p, o in known.items()}}

    def verify(self, item: OutboxItem) -> bool | None:
        hint = item.verify_hint or {}
        topic = hint.get("topic", item.destination)
        from_offsets = {int(p): int(o) for p, o in (hint.get("from_offsets") or {}).items()}
        partitions = self._partitions(topic)
        if not partitions:
            return False
        consumer = self._verify_consumer()
        try:
            ends: dict[int, int] = {}
            assignments = []
            for p in partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=self.timeout_s)
                start = max(from_offsets.get(p, low), low)
                if start < high:
                    ends[p] = high
                    assignments.append(TopicPartition(topic, p, start))
            if not assignments:
                return False
            consumer.assign(assignments)
            wanted = item.idempotency_key.encode()
            remaining = set(ends)
            while remaining:
                message = consumer.poll(self.timeout_s)
                if message is None:
                    return None  # could not read the topic back in time: undecided
                if message.error() is not None:
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        remaining.discard(message.partition())
                        continue
                    return None
                for name, value in message.headers() or []:
                    if name == HEADER and value == wanted:
                        return True
                if message.offset() + 1 >= ends.get(message.partition(), 0):
                    remaining.discard(message.partition())
            return False
        finally:
            consumer.close()

    # -- sending ----------------------------------------------------------------------------------
    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        results: dict[int, SendResult] = {}

        def on_delivery(index: int, err: Any, msg: Any) -> None:
            if err is not None:
                results[index] = SendResult(False, error=f"Kafka delivery failed: {err.str()}")
                return
            with self._lock:
                key = (msg.topic(), msg.partition())
                self._floors[key] = max(self._floors.get(key, 0), msg.offset() + 1)
            results[index] = SendResult(True, delivery_ref=f"{msg.topic()}/{msg.partition()}/{msg.offset()}")

        for index, item in enumerate(items):
            try:
                self.producer.produce(
                    item.destination,
                    value=item.payload,
                    key=item.message_key,
                    headers=[
                        (HEADER, item.idempotency_key.encode()),
                        ("content-type", item.content_type.encode()),
                    ],
                    on_delivery=functools.partial(on_delivery, index),
                )
            except (BufferError, Exception) as exc:  # KafkaException, BufferError: this item only
                results[index] = SendResult(False, error=f"Kafka produce failed: {exc}")
            self.producer.poll(0)
        remaining = self.producer.flush(self.timeout_s)
        out = []
        for index in range(len(items)):
            result = results.get(index)
            if result is None:
                result = SendResult(
                    False,
                    error=f"no delivery acknowledgement within {self.timeout_s} s ({remaining} pending)",
                    undecided=True,
                )
            out.append(result)
        return out

    def close(self) -> None:
        self.producer.flush(self.timeout_s)
