"""PostgreSQL crashed for 20 s in the middle of a stream, then started again (the test's own
cluster, on PostgreSQL's durable default settings, stopped with ``pg_ctl -m immediate``: no shutdown
checkpoint, the restart recovers from the write-ahead log): the daemon backs off, dead-letters
nothing, and loses or doubles nothing. The suite's one check on durable settings: the other tests'
cluster may run without them (``.ci/run`` turns them off for speed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.store.db import make_engine, upgrade
from tests.chaos.harness import (
    PacedProducer,
    count_sent,
    every_product_sent_then_stop,
    figures,
    wait_for,
)
from tests.conftest import MockKafka, make_settings
from tests.support.daemon import DaemonProcess
from tests.support.own_postgres import OwnPostgres
from tests.support.slack_api import SlackStandIn
from tests.tier import size

N_ALERTS = 200
DOWN_S = float(size(8, 20, "SKYMIST_STORE_DOWN_S"))  # the outage (a fault, not a wait for a result)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    cluster = OwnPostgres(durable=True).init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_postgres_stopped_for_20_s_and_started_again(
    own_postgres: OwnPostgres, kafka: MockKafka, topic: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    url = own_postgres.create_database("skymist_chaos")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = make_settings(
        url,
        kafka,
        kafka_topics=[topic],
        kafka_session_timeout_ms=6000,
        slack_mode="web_api",
        slack_api_url=f"{slack.url}/api",
        slack_bot_token=slack.token,
        slack_channel="C0CHAOS",
        outbox_lease_s=5.0,
        log_level="INFO",
    )
    batch = alert_batch(N_ALERTS, seed=15, size_bytes=20_000, run_id=143100)
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")
    app = build_app(settings)
    try:
        daemon.start()
        producer = PacedProducer(kafka.producer(), topic, [v for _, v in batch], per_flush=10, pause_s=0.4)
        wait_for(lambda: count_sent(app) > 30, 60, "the first products")
        app.engine.dispose()
        own_postgres.stop("immediate")
        stopped = time.monotonic()
        time.sleep(DOWN_S)
        own_postgres.start()
        down_s = time.monotonic() - stopped
        producer.thread.join(60)
        every_product_sent_then_stop(app, daemon, N_ALERTS, 180)
    finally:
        daemon.close()
    log = daemon.log_text()
    keys = [m["metadata"]["event_payload"]["key"] for m in slack.messages]
    result = figures(
        f"PostgreSQL stopped {DOWN_S:.0f} s",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=keys,
        store_down_s=round(down_s, 1),
        ingest_backoffs_logged=log.count("could not record a batch"),
    )
    app.close()
    result.check()
    assert result.dead_lettered == 0
    assert result.extra["ingest_backoffs_logged"] >= 1  # the outage was seen, and waited out
