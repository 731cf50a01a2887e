"""Slack answering 429 (Retry-After), 500 and hanging while alerts stream in: notices go out
undisturbed, every Slack message arrives, and webhook re-sends (in doubt after a hang) are counted
apart from duplicates."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from tests.chaos.harness import (
    PacedProducer,
    every_product_sent_then_stop,
    figures,
)
from tests.conftest import MockKafka, make_settings
from tests.support.daemon import DaemonProcess
from tests.support.scripted_http import Answer, ScriptedHttp

N_ALERTS = 40
SCRIPT = (
    [Answer(429, b"rate_limited", {"Retry-After": "2"})] * 4
    + [Answer(500, b"internal_error")] * 6
    + [Answer(hang_s=6.0)] * 3
    + [Answer(503, b"")] * 2
)


def test_slack_429_500_and_hanging(kafka: MockKafka, topic: str, database_url: str, tmp_path: Path) -> None:
    with ScriptedHttp(*SCRIPT) as http:
        settings = make_settings(
            database_url,
            kafka,
            kafka_topics=[topic],
            kafka_session_timeout_ms=6000,
            slack_mode="webhook",
            slack_webhook_url=http.url,
            sink_timeout_s=2.0,
            outbox_lease_s=3.0,
            outbox_backoff_base_s=0.2,
            outbox_backoff_max_s=1.0,
            log_level="INFO",
        )
        app = build_app(settings)
        batch = alert_batch(N_ALERTS, seed=16, size_bytes=20_000, run_id=143200)
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")
        try:
            daemon.start()
            PacedProducer(kafka.producer(), topic, [v for _, v in batch], per_flush=5, pause_s=0.3)
            every_product_sent_then_stop(app, daemon, N_ALERTS, 180)
        finally:
            daemon.close()
        texts = Counter(json.dumps(m.get("text")) for m in http.accepted)
        received = len(http.received)
    result = figures(
        "Slack 429 / 500 / hanging",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=list(texts),  # distinct messages; a webhook's in-doubt re-sends are counted apart
        slack_requests=received,
        webhook_resends=sum(n - 1 for n in texts.values()),
        scripted_failures=len(SCRIPT),
    )
    app.close()
    result.check()
    assert len(texts) == N_ALERTS
