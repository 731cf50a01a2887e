"""A broker that can fail over: librdkafka's mock cluster in a child process (tests/support/broker_process.py)
behind a TCP relay on a fixed port. ``kill9()`` ends the broker with SIGKILL (its log is gone);
``replace()`` starts a new, empty cluster (a new cluster id, offsets from 0) at the same address, as a
failed-over cluster behind a stable DNS name, so clients keep the same settings."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from confluent_kafka import Producer

from tests.support.tcp_relay import TcpRelay

REPO = Path(__file__).resolve().parents[2]


class FailoverBroker:
    def __init__(self, topics: Sequence[str] = (), partitions: int = 4) -> None:
        self.relay = TcpRelay()
        self.topics = [f"{name}:{partitions}" for name in topics]
        self.proc: subprocess.Popen[str] | None = None
        self.generations = 0
        self.cluster_ids: list[str] = []
        self.replace()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.relay.port}"

    def replace(self) -> None:
        """Start a new, empty broker and point the relay at it (the old one must be gone)."""
        args = [sys.executable, "-m", "tests.support.broker_process"]
        args += ["--advertise-port", str(self.relay.port)]
        for spec in self.topics:
            args += ["--topic", spec]
        self.proc = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.startswith("broker listening on "), f"the broker did not start: {line!r}"
        listening = line.removeprefix("broker listening on ").split(",")[0]
        self.relay.set_target(listening)
        self.generations += 1
        probe = Producer({"bootstrap.servers": listening, "log_level": 2})
        self.cluster_ids.append(str(probe.list_topics(timeout=10).cluster_id))

    def kill9(self) -> None:
        """SIGKILL the broker and cut every open connection through the relay."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.relay.set_target(None)
        self.relay.drop_all()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.relay.close()

    def __enter__(self) -> FailoverBroker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
