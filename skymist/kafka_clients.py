"""Kafka client construction from settings (confluent-kafka; gcn-kafka for GCN's brokers), and the
two clients' typed faces: :class:`KafkaConsumer` and :class:`KafkaProducer`, the calls SkyMist makes
(confluent-kafka's ``Consumer`` and ``Producer``, and gcn-kafka's, have them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from skybase.logs import librdkafka_logger
from skymist.config import Settings

#: called with the consumer and the partitions assigned or revoked
Rebalance = Callable[["KafkaConsumer", list[TopicPartition]], None]


class KafkaConsumer(Protocol):
    """What SkyMist calls on a Kafka consumer."""

    def subscribe(
        self, topics: list[str], on_assign: Rebalance | None = ..., on_revoke: Rebalance | None = ...
    ) -> None: ...
    def poll(self, timeout: float = ...) -> Message | None: ...
    def consume(self, num_messages: int = ..., timeout: float = ...) -> list[Message]: ...
    def assign(self, partitions: list[TopicPartition]) -> None: ...
    def unassign(self) -> None: ...
    def assignment(self) -> list[TopicPartition]: ...
    def seek(self, partition: TopicPartition) -> None: ...
    def commit(self, *, asynchronous: Literal[False]) -> list[TopicPartition] | None: ...
    def store_offsets(
        self, message: Message | None = ..., offsets: list[TopicPartition] | None = ...
    ) -> None: ...
    def committed(self, partitions: list[TopicPartition], timeout: float = ...) -> list[TopicPartition]: ...
    def get_watermark_offsets(
        self, partition: TopicPartition, timeout: float = ..., cached: bool = ...
    ) -> tuple[int, int]: ...
    def offsets_for_times(
        self, partitions: list[TopicPartition], timeout: float = ...
    ) -> list[TopicPartition]: ...
    def list_topics(self, topic: str | None = ..., timeout: float = ...) -> Any: ...
    def close(self) -> None: ...


class KafkaProducer(Protocol):
    """What SkyMist calls on a Kafka producer."""

    def produce(
        self,
        topic: str,
        value: str | bytes | None = ...,
        key: str | bytes | None = ...,
        partition: int = ...,
        *,
        on_delivery: Callable[[Any, Any], None] | None = ...,
        headers: list[tuple[str, str | bytes | None]] | None = ...,
    ) -> None: ...
    def poll(self, timeout: float = ...) -> int: ...
    def flush(self, timeout: float = ...) -> int: ...
    def list_topics(self, topic: str | None = ..., timeout: float = ...) -> Any: ...


def base_config(settings: Settings) -> dict[str, Any]:
    """Brokers, the operator's extra librdkafka settings, and librdkafka's log lines sent through
    the service's JSON log (served on each poll)."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "logger": librdkafka_logger(),
        **settings.kafka_config,
    }


def notice_config(settings: Settings) -> dict[str, Any]:
    """Like :func:`base_config`, on the brokers the notices go to (``Settings.notice_brokers``)."""
    return {**base_config(settings), "bootstrap.servers": settings.notice_brokers}


def consumer_config(settings: Settings) -> dict[str, Any]:
    """The daemon's consumer: offsets stored only by SkyMist after the inbox commit.

    Metadata is refreshed every 10 s (librdkafka's default is 5 min): a subscribed topic made after
    the subscription, such as the loopback's output topics before their first notice, is read
    within seconds of its first message. The operator's ``kafka_config`` may set another period."""
    config = {
        "topic.metadata.refresh.interval.ms": "10000",
        **base_config(settings),
        "group.id": settings.kafka_group_id,
        "enable.auto.offset.store": "false",
        "enable.auto.commit": "true",
        "auto.commit.interval.ms": "1000",
        "auto.offset.reset": "earliest",
        "session.timeout.ms": str(settings.kafka_session_timeout_ms),
        "heartbeat.interval.ms": str(max(100, settings.kafka_session_timeout_ms // 10)),
        "fetch.message.max.bytes": str(max(1_048_576, settings.kafka_max_message_bytes + 1024)),
        "partition.assignment.strategy": "cooperative-sticky",
        "fetch.wait.max.ms": str(settings.kafka_fetch_wait_max_ms),
    }
    if settings.kafka_group_instance_id:
        config["group.instance.id"] = settings.kafka_group_instance_id
    return config


def make_consumer(settings: Settings) -> KafkaConsumer:
    return Consumer(consumer_config(settings))


def make_notice_producer(settings: Settings) -> KafkaProducer:
    """Producer of notices: GCN's brokers through gcn-kafka when ``gcn_client_id`` is set."""
    producer_config = {
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "2",
        "logger": librdkafka_logger(),
        **settings.kafka_config,
    }
    if settings.gcn_client_id:
        from gcn_kafka import Producer as GcnProducer

        secret = settings.gcn_client_secret.get_secret_value() if settings.gcn_client_secret else None
        return GcnProducer(
            config=producer_config,
            client_id=settings.gcn_client_id,
            client_secret=secret,
            domain=settings.gcn_domain,
        )
    return Producer({**producer_config, "bootstrap.servers": settings.notice_brokers})


def make_producer(settings: Settings) -> KafkaProducer:
    """A producer on the realtime brokers (``kafka_bootstrap_servers``): the heartbeat's input."""
    return Producer({**base_config(settings), "enable.idempotence": "true", "acks": "all", "linger.ms": "2"})
