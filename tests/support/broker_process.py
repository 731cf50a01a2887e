"""A Kafka-protocol broker in a process of its own (librdkafka's mock cluster, through its C API), so
a test can kill it with -9 and start a new one. It advertises ``--advertise-port`` (a TCP relay the
test keeps on a fixed port), so clients find the new broker at the same address, as they would a
failed-over cluster behind a stable DNS name. The new broker is empty: offsets start at 0 again.

Run: ``python -m tests.support.broker_process --advertise-port P [--topic NAME:PARTITIONS ...]``;
prints ``broker listening on HOST:PORT`` when ready.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time
from pathlib import Path

import confluent_kafka


def librdkafka() -> ctypes.CDLL:
    folder = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    found = sorted(folder.glob("librdkafka*.so*"))
    if not found:
        raise FileNotFoundError(f"librdkafka not found in {folder}")
    lib = ctypes.CDLL(str(found[0]))
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
    ]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_broker_set_host_port.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    return lib


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--advertise-port", type=int, required=True)
    parser.add_argument("--topic", action="append", default=[], help="NAME:PARTITIONS")
    args = parser.parse_args()
    lib = librdkafka()
    errors = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    lib.rd_kafka_conf_set(conf, b"log_level", b"2", errors, 512)
    handle = lib.rd_kafka_new(0, conf, errors, 512)
    if not handle:
        print(f"rd_kafka_new failed: {errors.value.decode()}", file=sys.stderr)
        return 1
    cluster = lib.rd_kafka_mock_cluster_new(handle, 1)
    listening = lib.rd_kafka_mock_cluster_bootstraps(cluster).decode()
    if lib.rd_kafka_mock_broker_set_host_port(cluster, 1, b"127.0.0.1", args.advertise_port) != 0:
        print("could not set the advertised port", file=sys.stderr)
        return 1
    for spec in args.topic:
        name, _, partitions = spec.partition(":")
        lib.rd_kafka_mock_topic_create(cluster, name.encode(), int(partitions or 4), 1)
    print(f"broker listening on {listening}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
