"""PostgreSQL refuses every connection to the daemon's database for a while (its sessions ended, new ones
turned away, as when its connections are exhausted), while alerts keep coming; then it lets them in
again. The daemon's waits between tries never exceed ``store_retry_max_s``, so the first row after
the store comes back is written within seconds (the figure is printed with the scenario's CHAOS line;
``benchmarks/store_recovery.py`` measures it); nothing is lost, doubled or dead-lettered.

The window is ``SKYMIST_STORE_REFUSED_S`` seconds (40 in the long tier, 15 in the quick one, still
past the 8 s a doubling backoff from 0.5 s reaches: tests/tier.py)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from sqlalchemy import func, select

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.store.models import InboxMessage
from tests.chaos.harness import count_sent, daemon_settings, figures, outbox_states, wait_for
from tests.conftest import MockKafka, _admin_dsn
from tests.support.daemon import DaemonProcess
from tests.support.slack_api import SlackStandIn
from tests.support.store_gate import StoreGate
from tests.tier import size

REFUSED_S = float(size(15, 40, "SKYMIST_STORE_REFUSED_S"))
BEFORE, DURING = 4, 6
RETRY_LINE = "could not record a batch; it will be taken again"


def retry_waits(log_text: str) -> list[float]:
    """The waits the consumer announced before taking a batch again (``retry_in_s``)."""
    waits = []
    for line in log_text.splitlines():
        if RETRY_LINE in line:
            waits.append(float(json.loads(line)["retry_in_s"]))
    return waits


def test_store_refusing_connections_for_a_while_then_back_within_seconds(
    database_url: str, kafka: MockKafka, topic: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    gate = StoreGate(_admin_dsn(), database_url.rsplit("/", 1)[1])
    settings = daemon_settings(
        database_url,
        kafka,
        topic,
        slack,
        log_level="INFO",
        log_repeat_interval_s=0,  # every retry line, with the wait it announces
    )
    batch = alert_batch(BEFORE + DURING, seed=44, size_bytes=20_000, run_id=150300)
    values = [value for _, value in batch]
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")
    app = build_app(settings)
    producer = kafka.producer()
    try:
        daemon.start()
        for value in values[:BEFORE]:
            producer.produce(topic, value)
        producer.flush(30)
        wait_for(lambda: count_sent(app) == 3 * BEFORE, 90, "the first products", lambda: outbox_states(app))
        app.engine.dispose()

        gate.refuse()
        refused_at = dt.datetime.now(dt.UTC)
        try:
            for value in values[BEFORE:]:  # the consumer takes them and cannot record them
                producer.produce(topic, value)
            producer.flush(30)
            wait_for(lambda: RETRY_LINE in daemon.log_text(), 60, "the daemon to meet the refusal")
            time.sleep(max(0.0, REFUSED_S - (dt.datetime.now(dt.UTC) - refused_at).total_seconds()))
        finally:
            gate.allow()
        allowed_at = dt.datetime.now(dt.UTC)

        def first_row_after() -> dt.datetime | None:
            with app.sessions() as session:
                found: dt.datetime | None = session.execute(
                    select(func.min(InboxMessage.received_at)).where(InboxMessage.received_at >= refused_at)
                ).scalar_one()
                return found

        wait_for(lambda: first_row_after() is not None, 120, "the first row after the store came back")
        wait_for(
            lambda: count_sent(app) == 3 * (BEFORE + DURING), 180, "every product", lambda: outbox_states(app)
        )
        first = first_row_after()
        assert first is not None and first >= allowed_at  # nothing was written while refused
        assert daemon.terminate() == 0, daemon.log_text()[-3000:]
    finally:
        daemon.close()
    log = daemon.log_text()
    waits = retry_waits(log)
    keys = [m["metadata"]["event_payload"]["key"] for m in slack.messages]
    result = figures(
        f"PostgreSQL refused connections {REFUSED_S:.0f} s",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=keys,
        refused_s=round((allowed_at - refused_at).total_seconds(), 1),
        first_row_after_store_s=round((first - allowed_at).total_seconds(), 2),
        ingest_retries=len(waits),
        longest_retry_wait_s=max(waits, default=0.0),
    )
    app.close()
    result.check()
    assert result.dead_lettered == 0
    assert waits, "the refusal was never seen"
    # no wait longer than the cap: the daemon tries again within seconds of the store's return
    assert max(waits) <= settings.store_retry_max_s, waits
