"""kill -9 of the daemon >= 20 times while 1,000 alerts stream in: nothing lost, nothing doubled
(Slack through the Web API, verified after a kill, so exactly once too)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from tests.chaos.harness import PacedProducer, count_sent, daemon_settings, figures, outbox_states, wait_for
from tests.conftest import MockKafka
from tests.support.daemon import DaemonProcess
from tests.support.slack_api import SlackStandIn

N_ALERTS = int(os.environ.get("SKYMIST_CHAOS_ALERTS", "1000"))
MIN_KILLS = int(os.environ.get("SKYMIST_CHAOS_KILLS", "20"))


def test_kill_9_twenty_times_during_1000_alerts(
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
        wait_for(
            lambda: count_sent(app) == 3 * N_ALERTS,
            300,
            "every alert's three products",
            lambda: outbox_states(app),
        )
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    keys = [m["metadata"]["event_payload"]["key"] for m in slack.messages]
    result = figures(
        f"kill -9 x{kills}, 1,000 alerts",
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
