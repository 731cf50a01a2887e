"""The clients SkyMist is given satisfy the typed faces it codes against (checked by mypy on this
file, which CI type-checks, and run here on real clients that connect to nothing)."""

from __future__ import annotations

from confluent_kafka import Consumer, Producer

from scanner_client import SkyDriverClient
from scanner_client.backend import ScannerBackend
from skymist.kafka_clients import KafkaConsumer, KafkaProducer


def test_confluent_clients_are_the_kafka_faces() -> None:
    producer: KafkaProducer = Producer({"bootstrap.servers": "127.0.0.1:9", "socket.timeout.ms": 100})
    assert producer.flush(0) == 0  # nothing queued: nothing left
    consumer: KafkaConsumer = Consumer({"bootstrap.servers": "127.0.0.1:9", "group.id": "typed-faces"})
    try:
        assert consumer.assignment() == []
    finally:
        consumer.close()


def test_skydriver_client_is_a_scanner_backend() -> None:
    backend: ScannerBackend = SkyDriverClient("http://127.0.0.1:9", token="not-used")
    backend.close()
