"""kill -9 of a daemon that posts to a Slack incoming webhook while alerts stream in. A webhook cannot
be asked what it received, so a message in doubt after a kill is posted again; the dispatcher posts
one webhook row and records it before taking the next, so each kill doubles at most one message
(issue 20, part 3). Slack answers each post 50 ms late (a message posted, its answer not yet back),
and each kill comes while the daemon is posting: the worst case for the bound."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import OutboxState
from skymist.store.models import OutboxRow
from tests.chaos.harness import (
    Figures,
    PacedProducer,
    daemon_settings,
    every_product_sent_then_stop,
    figures,
    outbox_states,
    wait_for,
    webhook_mode,
)
from tests.conftest import MockKafka
from tests.support.daemon import DaemonProcess
from tests.support.slack_api import SlackStandIn

#: how late Slack answers a post it accepted
SLACK_ANSWER_DELAY_S = 0.05


def run_webhook_kills(
    database_url: str,
    kafka: MockKafka,
    topic: str,
    log_dir: Path,
    *,
    alerts: int,
    kills: int,
    seed: int,
    run_id: int,
) -> Figures:
    """Stream ``alerts``, kill -9 the daemon ``kills`` times while it posts to Slack, let it finish;
    the figures (``extra``: kills, posts, duplicated posts), Kafka counted as in every chaos case."""
    rng = random.Random(seed)
    with SlackStandIn(delay_s=SLACK_ANSWER_DELAY_S) as slack:
        settings = daemon_settings(
            database_url,
            kafka,
            topic,
            slack,
            **webhook_mode(slack),
        )
        app = build_app(settings)
        batch = alert_batch(alerts, seed=seed, size_bytes=5_000, run_id=run_id)
        daemon = DaemonProcess(settings, log_dir / "daemon.log")

        def slack_done() -> bool:
            with app.sessions() as session:
                sent = session.execute(
                    select(func.count()).where(OutboxRow.sink == "slack", OutboxRow.state == OutboxState.SENT)
                ).scalar_one()
            return int(sent) >= alerts

        killed = 0
        try:
            daemon.start()
            PacedProducer(kafka.producer(), topic, [v for _, v in batch], per_flush=25, pause_s=0.5)
            while killed < kills:
                before = slack.requests

                def posting(before: int = before) -> bool:
                    return slack.requests > before or slack_done()

                wait_for(
                    posting,
                    120,
                    "the restarted daemon posting to Slack",
                    lambda: outbox_states(app),
                )
                if slack.requests == before:
                    break  # every message is out: nothing left to kill in the middle of
                time.sleep(rng.uniform(0.0, 0.3))  # somewhere in the daemon's posting
                daemon.kill9()
                killed += 1
                daemon.start()
            every_product_sent_then_stop(app, daemon, alerts)
        finally:
            daemon.close()
        posts = [
            json.dumps({k: v for k, v in m.items() if k != "ts"}, sort_keys=True) for m in slack.messages
        ]
    distinct = Counter(posts)
    result = figures(
        f"webhook Slack, kill -9 x{killed}, {alerts} alerts",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=list(distinct),  # distinct messages; the doubled posts are counted apart
        kills=killed,
        slack_posts=len(posts),
        slack_duplicated=len(posts) - len(distinct),
        daemon_starts=daemon.starts,
    )
    app.close()
    return result
