"""kill -9 of the daemon many times (20 in the long tier, 5 in the quick one) while alerts stream in:
nothing lost, nothing doubled (Slack through the Web API, verified after a kill, so exactly once
too); and with Slack's incoming webhook, which cannot be asked, at most one Slack message doubled
per kill."""

from __future__ import annotations

import random
import time
from pathlib import Path

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from tests.chaos.harness import (
    PacedProducer,
    daemon_settings,
    every_product_sent_then_stop,
    figures,
)
from tests.chaos.webhook_kills import run_webhook_kills
from tests.conftest import MockKafka
from tests.support.daemon import DaemonProcess
from tests.support.slack_api import SlackStandIn
from tests.tier import size

# the long tier's sizes are the contract's (1,000 alerts, 20 kills; webhook 500 alerts); the quick tier
# keeps the property at 200 alerts and 5 kills (tests/tier.py)
N_ALERTS = size(200, 1000, "SKYMIST_CHAOS_ALERTS")
MIN_KILLS = size(5, 20, "SKYMIST_CHAOS_KILLS")
WEBHOOK_ALERTS = size(150, 500, "SKYMIST_CHAOS_WEBHOOK_ALERTS")


def test_kill_9_many_times_during_a_stream_of_alerts(
    database_url: str, kafka: MockKafka, topic: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    rng = random.Random(1414)
    settings = daemon_settings(
        database_url,
        kafka,
        topic,
        slack,
    )
    app = build_app(settings)
    # 5 kB each: the mock broker keeps ~5 MB per partition, and must not drop input while the daemon is down
    batch = alert_batch(N_ALERTS, seed=14, size_bytes=5_000, run_id=143000)
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")
    kills = 0
    try:
        daemon.start()
        producer = PacedProducer(kafka.producer(), topic, [v for _, v in batch], per_flush=25, pause_s=0.5)
        while kills < MIN_KILLS or not producer.done.is_set():
            time.sleep(rng.uniform(1.2, 2.5))
            daemon.kill9()
            kills += 1
            daemon.start()
        every_product_sent_then_stop(app, daemon, N_ALERTS)
    finally:
        daemon.close()
    keys = [m["metadata"]["event_payload"]["key"] for m in slack.messages]
    result = figures(
        f"kill -9 x{kills}, {N_ALERTS:,} alerts",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=keys,
        kills=kills,
        daemon_starts=daemon.starts,
    )
    app.close()
    assert kills >= MIN_KILLS
    result.check()
    assert result.dead_lettered == 0


def test_webhook_kill_9_many_times_during_a_stream_of_alerts(
    database_url: str, kafka: MockKafka, topic: str, tmp_path: Path
) -> None:
    result = run_webhook_kills(
        database_url, kafka, topic, tmp_path, alerts=WEBHOOK_ALERTS, kills=MIN_KILLS, seed=21, run_id=143600
    )
    kills = result.extra["kills"]
    assert kills == MIN_KILLS
    result.check()  # nothing lost, no notice doubled
    assert result.extra["slack_duplicated"] <= kills
