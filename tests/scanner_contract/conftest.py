"""Fixtures of the scanner contract tests: a real PostgreSQL database per service, ``skyscan serve``
started as a subprocess on a free loopback port, and clients of it (``scanner_client`` only).

The module's service has a dummy-reco gate (``gate``): a test holds its scans after N pixels, looks at
their partial state, then releases them, instead of racing a scan that runs on its own."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scanner_client import LaunchScanRequest, ScanStatus, SkyDriverClient
from tests import waiting
from tests.support.pixel_gate import PixelGate, released_before_and_after
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
    "HELD_PIXEL_TIME_S",
    "OAUTH_TOKENS",
    "SYSTEM_TOKEN",
    "USER_TOKEN",
    "Service",
    "dummy_request",
    "pixels_done",
    "service_env",
    "skyscan_command",
    "wait_for",
    "wait_for_scan",
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
def service(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for a test module (its own database), with a dummy-reco gate (open unless a test
    holds it)."""
    gate_dir = tmp_path_factory.mktemp("gate")
    running = Service(make_database(), service_env(DUMMY_GATE_DIR=gate_dir)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def gate(service: Service) -> Iterator[PixelGate]:
    """The gate of the module's service; whatever the test held is released at its end."""
    with released_before_and_after(service.gate) as running:
        yield running


@pytest.fixture
def client(service: Service) -> Iterator[SkyDriverClient]:
    with service.client() as c:
        yield c


@pytest.fixture
def system_client(service: Service) -> Iterator[SkyDriverClient]:
    with service.client(token=SYSTEM_TOKEN) as c:
        yield c


#: max_pixel_reco_time of scans a test holds at the gate (a fit waiting there is fit time)
HELD_PIXEL_TIME_S = 600


def dummy_request(
    event: dict[str, Any], nsides: dict[int, int], max_pixel_reco_time: int = 30, **extra: Any
) -> LaunchScanRequest:
    return LaunchScanRequest(
        cluster={"local": 1},
        reco_algo="dummy",
        event_i3live_json=event,
        nsides=nsides,
        real_or_simulated_event="real",
        max_pixel_reco_time=max_pixel_reco_time,
        **extra,
    )


def pixels_done(client: SkyDriverClient, scan_id: str) -> int:
    """The scan's pixels done, as its last progress report says (0 before the first)."""
    progress = client.get_manifest(scan_id).progress
    return 0 if progress is None else int(progress.tallies["overall"]["pixels"]["done"])


#: a few seconds of dummy reconstructions (used where a scan must run unheld for a while)
LONG_NSIDES = {1: 0, 2: 12, 4: 12, 8: 12}
SHORT_NSIDES = {1: 0, 2: 4}


def wait_for_scan(
    client: SkyDriverClient,
    scan_id: str,
    done: Callable[[ScanStatus], bool],
    timeout_s: float = 90.0,
    *,
    states: list[str] | None = None,
) -> ScanStatus:
    """Poll the scan's status until ``done``; return it. Every distinct state seen is appended, in
    order, to ``states`` (when given), which may carry the states seen by earlier waits."""
    seen = [] if states is None else states
    last: list[ScanStatus] = []

    def reached() -> ScanStatus | None:
        status = client.get_status(scan_id, follow_replaced=False)
        if not seen or seen[-1] != status.scan_state:
            seen.append(status.scan_state)
        last[:] = [status]
        return status if done(status) else None

    try:
        return waiting.wait_for(reached, timeout_s, f"scan {scan_id} to reach the condition")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; states seen: {seen}; last status: {last}") from None


def wait_for(
    client: SkyDriverClient, scan_id: str, done: Callable[[ScanStatus], bool], timeout_s: float = 90.0
) -> tuple[ScanStatus, list[str]]:
    """The former name of :func:`wait_for_scan`, kept while test_wire.py still calls it; returns the
    status and the states seen."""
    seen: list[str] = []
    return wait_for_scan(client, scan_id, done, timeout_s, states=seen), seen
