"""A mock Kafka cluster of the test's own (librdkafka's, through its C API, in the test process) whose
topics the test makes and deletes when it wants: the session's ``kafka`` fixture makes a topic as
soon as anything asks for its metadata, and cannot delete one. Consumers do not make topics here
(librdkafka's consumers ask for metadata without ``allow_auto_topic_creation``); producers do."""

from __future__ import annotations

import ctypes
from typing import Any

from tests.support.broker_process import librdkafka


class MockCluster:
    def __init__(self) -> None:
        lib = librdkafka()
        lib.rd_kafka_mock_topic_delete.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
        lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
        errors = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        lib.rd_kafka_conf_set(conf, b"log_level", b"2", errors, 512)
        handle = lib.rd_kafka_new(0, conf, errors, 512)
        if not handle:
            raise RuntimeError(f"rd_kafka_new failed: {errors.value.decode()}")
        cluster = lib.rd_kafka_mock_cluster_new(handle, 1)
        if not cluster:
            lib.rd_kafka_destroy(handle)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self._lib: Any = lib
        self._handle = handle
        self._cluster = cluster
        self.bootstrap: str = lib.rd_kafka_mock_cluster_bootstraps(cluster).decode()

    def create_topic(self, name: str, partitions: int = 4) -> None:
        code = self._lib.rd_kafka_mock_topic_create(self._cluster, name.encode(), partitions, 1)
        if code != 0:
            raise RuntimeError(f"creating topic {name!r}: librdkafka error {code}")

    def delete_topic(self, name: str) -> None:
        code = self._lib.rd_kafka_mock_topic_delete(self._cluster, name.encode())
        if code != 0:
            raise RuntimeError(f"deleting topic {name!r}: librdkafka error {code}")

    def close(self) -> None:
        if self._cluster:
            self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
            self._lib.rd_kafka_destroy(self._handle)
            self._cluster = self._handle = None

    def __enter__(self) -> MockCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
