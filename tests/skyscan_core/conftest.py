"""Fixtures of the scanner-core tests: the real IceCube events, a real RabbitMQ broker, worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from skyscan.workers.rabbitmq import start_worker_process
from tests.waiting import WaitTimeoutError, wait_for

REPO = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("SKYSCAN_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672/")
BRONZE_2023 = "run00138632-evt000031747601-BRONZE.json"


@pytest.fixture(scope="session")
def real_data() -> Path:
    for candidate in (REPO.parent / "shared" / "data" / "real", REPO / "shared" / "data" / "real"):
        if (candidate / BRONZE_2023).is_file():
            return candidate
    pytest.fail(f"{BRONZE_2023} not found in ../shared/data/real beside the repository ({REPO})")


@pytest.fixture(scope="session")
def bronze_event(real_data: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((real_data / BRONZE_2023).read_text())
    return event


def _broker_up() -> bool:
    try:
        pika.BlockingConnection(pika.URLParameters(BROKER_URL)).close()
    except pika.exceptions.AMQPError:
        return False
    return True


@pytest.fixture(scope="session")
def broker_url() -> str:
    """The machine's RabbitMQ (started with ``rabbitmq-server -detached`` if it is down)."""
    if not _broker_up():
        subprocess.run(["rabbitmq-server", "-detached"], check=False, capture_output=True)
        try:
            wait_for(
                _broker_up, 60, f"RabbitMQ at {BROKER_URL} (started with rabbitmq-server -detached)", 1.0
            )
        except WaitTimeoutError as exc:
            pytest.fail(str(exc))
    return BROKER_URL


@pytest.fixture
def task_queue(broker_url: str) -> Iterator[str]:
    """A task queue of this test only, deleted afterwards."""
    name = f"skyscan.test.{uuid.uuid4().hex[:12]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        connection.channel().queue_delete(queue=name)
    finally:
        connection.close()


@pytest.fixture
def start_workers(broker_url: str, task_queue: str) -> Iterator[Callable[..., list[subprocess.Popen[bytes]]]]:
    """Starts ``skyscan worker`` subprocesses on the test's queue (``env``: added to their environment);
    all are stopped afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(count: int, *args: str, env: dict[str, str] | None = None) -> list[subprocess.Popen[bytes]]:
        processes = [start_worker_process(broker_url, task_queue, *args, env=env) for _ in range(count)]
        started.extend(processes)
        return processes

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
