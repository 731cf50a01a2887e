"""Fixtures of the scanner contract tests: a real PostgreSQL database per service, ``skyscan serve``
started as a subprocess on a free loopback port, and clients of it (``scanner_client`` only)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scanner_client import LaunchScanRequest, ScanStatus, SkyDriverClient
from tests.support.skyscan_service import (  # re-exported to the contract tests (see __all__)
    DUMMY_DELAY_S,
    OAUTH_TOKENS,
    SYSTEM_TOKEN,
    USER_TOKEN,
    Service,
    service_env,
    skyscan_command,
)

__all__ = [
    "DUMMY_DELAY_S",
    "OAUTH_TOKENS",
    "SYSTEM_TOKEN",
    "USER_TOKEN",
    "Service",
    "dummy_request",
    "service_env",
    "skyscan_command",
    "wait_for",
]

PG_ADMIN_URL = os.environ.get("SKYSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def shared_dir() -> Path:
    """The project's ``../shared`` (read-only docs and data), found from this file upwards."""
    override = os.environ.get("SKYMIST_SHARED")
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        candidate = parent.parent / "shared"
        if (candidate / "DESIGN.md").is_file():
            return candidate
    pytest.skip("../shared (DESIGN.md, data) not found next to the project")


@pytest.fixture(scope="session")
def real_event() -> dict[str, Any]:
    path = shared_dir() / "data" / "real" / "run00138632-evt000031747601-BRONZE.json"
    event: dict[str, Any] = json.loads(path.read_text())
    return event


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[], str]]:
    """Creates uniquely named PostgreSQL databases; all are dropped at the end of the session."""
    created: list[str] = []

    def make() -> str:
        name = f"skyscan_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield make
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def service(make_database: Callable[[], str]) -> Iterator[Service]:
    """One service for a test module (its own database)."""
    running = Service(make_database(), service_env()).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(service: Service) -> Iterator[SkyDriverClient]:
    with service.client() as c:
        yield c


@pytest.fixture
def system_client(service: Service) -> Iterator[SkyDriverClient]:
    with service.client(token=SYSTEM_TOKEN) as c:
        yield c


def dummy_request(event: dict[str, Any], nsides: dict[int, int], **extra: Any) -> LaunchScanRequest:
    return LaunchScanRequest(
        cluster={"local": 1},
        reco_algo="dummy",
        event_i3live_json=event,
        nsides=nsides,
        real_or_simulated_event="real",
        max_pixel_reco_time=30,
        **extra,
    )


#: a few seconds of dummy reconstructions: long enough to be watched, deleted or killed
LONG_NSIDES = {1: 0, 2: 12, 4: 12, 8: 12}
SHORT_NSIDES = {1: 0, 2: 4}


def wait_for(
    client: SkyDriverClient, scan_id: str, done: Callable[[ScanStatus], bool], timeout_s: float = 90.0
) -> tuple[ScanStatus, list[str]]:
    """Poll the status until ``done``; returns it and every distinct state seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get_status(scan_id, follow_replaced=False)
        if not seen or seen[-1] != status.scan_state:
            seen.append(status.scan_state)
        if done(status):
            return status, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"scan {scan_id}: condition not reached; states seen: {seen}")
        time.sleep(0.05)
