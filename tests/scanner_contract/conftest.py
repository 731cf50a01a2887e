"""Fixtures of the scanner contract tests: a real PostgreSQL database per service, ``skyscan serve``
started as a subprocess on a free loopback port, and clients of it (``scanner_client`` only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scanner_client import LaunchScanRequest, ScanStatus, SkyDriverClient

PG_ADMIN_URL = os.environ.get("SKYSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
USER_TOKEN = "contract-user-token"
SYSTEM_TOKEN = "contract-system-token"
#: tokens the local OAuth2 endpoint hands out, in order (the service accepts them as `user`)
OAUTH_TOKENS = ("oauth-token-1", "oauth-token-2", "oauth-token-3", "oauth-token-4")
#: seconds of the dummy reco per pixel, so that lifecycles can be watched
DUMMY_DELAY_S = 0.05


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


def skyscan_command() -> list[str]:
    """The installed ``skyscan`` console script; ``python -m skyscan.server`` (same ``serve``) without it."""
    script = Path(sys.executable).with_name("skyscan")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "skyscan.server"]


@dataclass
class Service:
    """``skyscan serve`` running in a subprocess."""

    database_url: str
    env: dict[str, str]
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)

    def start(self, timeout_s: float = 60.0) -> Service:
        command = [
            *skyscan_command(),
            "serve",
            "--port",
            "0",
            "--database-url",
            self.database_url,
            *self.extra_args,
        ]
        self.process = subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        threading.Thread(target=self._drain, daemon=True).start()
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("skyscan serving on "):
                self.url = line.split()[-1]
                return self
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"skyscan serve did not start: {line!r}\n" + "\n".join(self.log[-20:]))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip())

    def kill(self) -> None:
        """SIGKILL: a crash, nothing is released."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def client(self, **kwargs: Any) -> SkyDriverClient:
        kwargs.setdefault("token", USER_TOKEN)
        return SkyDriverClient(self.url, **kwargs)


def service_env(**settings: Any) -> dict[str, str]:
    env = dict(os.environ)
    values: dict[str, Any] = {
        "USER_TOKENS": [USER_TOKEN, *OAUTH_TOKENS],
        "SYSTEM_TOKENS": [SYSTEM_TOKEN],
        "WORKERS": 1,
        "MAX_CONCURRENT_SCANS": 1,
        "PROGRESS_INTERVAL_S": 0.2,
        "RESULT_INTERVAL_S": 0.4,
        "BACKLOG_POLL_S": 0.2,
        "HEARTBEAT_S": 0.5,
        "STALE_AFTER_S": 2,
        "RECO_OPTIONS": {"dummy": {"delay_s": DUMMY_DELAY_S}},
        **settings,
    }
    for key, value in values.items():
        env[f"SKYSCAN_{key}"] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env


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


def skip_without_engine() -> None:
    import importlib.util

    if importlib.util.find_spec("skyscan.engine") is None:
        pytest.skip("skyscan.engine (the scanner core) is not installed yet")
