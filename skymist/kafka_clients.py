"""Kafka client construction from settings (confluent-kafka; gcn-kafka for GCN's brokers)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, Producer

from skybase.logs import librdkafka_logger
from skymist.config import Settings


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


def make_consumer(settings: Settings) -> Any:
    return Consumer(consumer_config(settings))


def make_notice_producer(settings: Settings) -> Any:
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


def make_producer(settings: Settings) -> Any:
    """A producer on the realtime brokers (``kafka_bootstrap_servers``): the heartbeat's input."""
    return Producer({**base_config(settings), "enable.idempotence": "true", "acks": "all", "linger.ms": "2"})
