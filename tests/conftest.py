"""Fixtures: the machine's PostgreSQL (a fresh database per test), librdkafka's mock Kafka cluster
(a real Kafka-protocol broker living in the test process), the official GCN schema, a Slack stand-in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer

from skymist.app import App
from skymist.config import Settings
from skymist.runtime.assembly import build_app
from skymist.store.db import make_engine, upgrade
from tests.support.database_drops import Drops
from tests.support.slack_api import SlackStandIn

PG_BASE = os.environ.get("SKYMIST_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REPO = Path(__file__).resolve().parents[1]


#: test files whose checks lean on the machine's pace (real daemons killed and restarted, outages,
#: a browser following live progress, soaks): under pytest-xdist (``--dist loadgroup``, the README's
#: test command) the files of one lane run one after the other on one worker, never two of a lane at
#: once. The chaos suites (each owns its daemons, its PostgreSQL where it stops one, its broker) in
#: two lanes, and the browsers, the heartbeat soaks and the daemon's own kill and stop checks in a
#: third; a fourth keeps the tests of the numba kernels together. A file is in the first lane that
#: names it (or its folder).
SERIAL_LANES: dict[str, tuple[str, ...]] = {
    # the chaos suites in two lanes of about equal length (the whole suite's longest path otherwise)
    "serial-chaos-1": (
        "tests/chaos/test_kill9.py",
        "tests/chaos/test_scanner_trouble.py",
        "tests/chaos/test_store_refused.py",
        "tests/chaos/test_broker_failover.py",
    ),
    "serial-chaos-2": ("tests/chaos/",),  # the others
    "serial-live": (
        "tests/console/test_console_browser.py",
        "tests/console/test_console_browser_sessions.py",
        "tests/console/test_console_trouble_browser.py",
        "tests/ops/test_heartbeat.py",
        "tests/test_daemon.py",
    ),
    # not for pace: these share numba kernels, compiled once per worker when numba's cache is cold
    # (a fresh clone: several seconds each), so one worker compiles them once
    "numba-kernels": ("tests/skyscan_truthsim/", "tests/photonics/", "tests/skyscan_core/test_table_mpe.py"),
}


#: the files that take longest on their own (one to two minutes of a worker), started right after the
#: lanes so that none is left to run alone at the end of the run; the rest go by their number of tests
#: (pytest-xdist's order). Only an order: a file missing or renamed here costs time, never a test.
LONGEST_FILES = (
    "tests/ops/test_demo_run.py",
    "tests/scans/test_end_to_end_products.py",
    "tests/archive/test_record.py",
    "tests/scans/test_tracker.py",
    "tests/scans/test_daemon_scans.py",
    "tests/fuzz/test_skyscan_api_fuzz.py",
    "tests/archive/test_site.py",
    "tests/archive/test_catalogue.py",
    "tests/test_stream_positions.py",
)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with groups: each lane of :data:`SERIAL_LANES` is a single unit of work
    (one worker runs its files in turn), every other test file another, so a file's module fixtures
    (a ``skymist demo`` run, a ``skyscan serve``, simulated events) are made once, not once per worker
    that gets one of its tests; the lanes and the longest files are handed out first. (pytest-xdist's
    own grouping by the ``xdist_group`` mark renames test ids, which pytest 9 no longer allows.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SerialGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
        def _split_scope(self, nodeid: str) -> str:
            for lane, paths in SERIAL_LANES.items():
                if nodeid.startswith(paths):
                    return lane
            return nodeid.split("::", 1)[0]

        def _assign_work_unit(self, node: Any) -> None:
            """The lanes first, then :data:`LONGEST_FILES`, then pytest-xdist's order."""
            for scope in (*SERIAL_LANES, *LONGEST_FILES):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
                    break
            super()._assign_work_unit(node)

    return SerialGroupScheduling(config, log)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    for candidate in (REPO.parent / "shared", REPO / "shared"):
        if (candidate / "data" / "real").is_dir():
            return candidate
    pytest.fail("../shared/data/real is missing: the real IceCube test data must sit beside the repository")


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL of the tests' PostgreSQL (``postgresql+psycopg://...``) as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def _admin_dsn() -> str:
    return libpq_url(PG_BASE) + "/postgres"


#: this test process's database drops (tests/support/database_drops.py)
DROPS = Drops(_admin_dsn)


@contextlib.contextmanager
def fresh_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A PostgreSQL database with a unique name starting ``prefix``; its URL. Dropped after, off the
    test's path (:data:`DROPS`).

    Empty, or a copy of ``template`` (PostgreSQL copies the template's files: far quicker than
    running every migration again)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy_of}')
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        DROPS.later(name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Every database a test made is dropped before the run ends; a drop that failed is reported."""
    DROPS.wait()
    for failure in DROPS.failures:
        session.config.get_terminal_writer().line(f"test database not dropped: {failure}", red=True)


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    """A database migrated to the newest schema once per test run (per worker): the template every
    test's database is copied from. Nothing connects to it after the migration (PostgreSQL copies a
    template only while no session is open on it). The migration tests run the migrations for real
    on databases of their own."""
    with fresh_database("skymist_tpl") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def database_url(migrated_template: str) -> Iterator[str]:
    """A fresh database at the newest schema for this test alone, copied from the migrated template."""
    with fresh_database("skymist_t", template=migrated_template) as url:
        yield url


class MockKafka:
    """librdkafka's mock cluster: a real Kafka-protocol broker on loopback for this test session."""

    def __init__(self) -> None:
        self.owner = Producer({"test.mock.num.brokers": 1, "log_level": 3})
        metadata = self.owner.list_topics(timeout=10)
        self.bootstrap = ",".join(f"{b.host}:{b.port}" for b in metadata.brokers.values())

    def producer(self, **extra: Any) -> Producer:
        return Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 1, **extra})


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """A command run in a test (``main([...])``) configures the process's logging; the next test
    starts with the logging it found (its output is not another test's stderr)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def kafka() -> MockKafka:
    return MockKafka()


@pytest.fixture
def topic(kafka: MockKafka) -> str:
    """A new input topic, created before the test (a producer's metadata request auto-creates it
    with 4 partitions): a daemon subscribing to a topic that does not exist yet would see it only
    at its next metadata refresh (minutes)."""
    name = f"realtime-{uuid.uuid4().hex[:8]}"
    metadata = kafka.owner.list_topics(topic=name, timeout=10)
    assert metadata.topics[name].error is None, metadata.topics[name].error
    return name


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


def make_settings(database_url: str, kafka: MockKafka | None = None, **overrides: Any) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka.bootstrap if kafka else "127.0.0.1:1",
        "kafka_group_id": f"skymist-test-{suffix}",
        "notice_topic": f"notices-{suffix}",
        "voevent_topic": f"voevents-{suffix}",
        "slack_mode": "off",
        "scans_enabled": False,
        "slack_max_per_minute": 100_000,
        "alert_tense": "test",
        "outbox_backoff_base_s": 0.05,
        "outbox_backoff_max_s": 0.2,
        "sink_timeout_s": 5.0,
        "log_level": "WARNING",
        "data_dir": tempfile.mkdtemp(prefix="skymist-test-data-"),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def app_factory(database_url: str, kafka: MockKafka) -> Iterator[Any]:
    apps: list[App] = []

    def factory(**overrides: Any) -> App:
        app = build_app(make_settings(database_url, kafka, **overrides))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()
