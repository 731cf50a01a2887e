"""2,500 malformed messages, then a real alert, through the real daemon (mock Kafka cluster, Slack's
incoming webhook on loopback, Slack paced at its production 60 a minute): the alert's Slack message
leaves at once instead of behind the dead letters' (issue 20, part 2: it waited 22-40 minutes), and
the shifters get at most one message about the flood per window. Prints one ``CHAOS`` line with the
alert's Slack latency."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import func, select

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import OutboxState
from skymist.store.models import DeadLetter, OutboxRow
from tests.chaos.harness import Figures, daemon_settings, outbox_states, wait_for, webhook_mode
from tests.conftest import MockKafka
from tests.support.daemon import DaemonProcess
from tests.support.slack_api import SlackStandIn

N_BAD = 2500
WINDOW_S = 3600


def test_a_real_alert_after_2500_malformed_messages_reaches_slack_at_once(
    database_url: str, kafka: MockKafka, topic: str, tmp_path: Path
) -> None:
    with SlackStandIn() as slack:
        settings = daemon_settings(
            database_url,
            kafka,
            topic,
            slack,
            **webhook_mode(slack),
            slack_max_per_minute=60,
            slack_digest_window_s=WINDOW_S,
        )
        app = build_app(settings)
        [(alert, value)] = alert_batch(1, seed=20, size_bytes=5_000, run_id=143700)
        producer = kafka.producer()
        windows = {int(time.time()) // WINDOW_S}
        for index in range(N_BAD):  # three kinds of bad input
            producer.produce(
                topic, (b"not json %d" % index, b"[1, 2]", b'{"alert": {}}')[index % 3], partition=0
            )
        producer.flush(30)
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")

        def letters() -> int:
            with app.sessions() as session:
                return int(session.execute(select(func.count()).select_from(DeadLetter)).scalar_one())

        def alert_told() -> list[dict[str, object]]:
            return [m for m in list(slack.messages) if f"{alert.run_id} / {alert.event_id}" in json.dumps(m)]

        try:
            daemon.start()
            wait_for(lambda: letters() == N_BAD, 300, "every malformed message dead-lettered", letters)
            producer.produce(topic, value, partition=0)
            producer.flush(30)
            produced = time.time()
            wait_for(
                lambda: len(alert_told()) == 1,
                120,
                "the alert's Slack message",
                lambda: (outbox_states(app), [m.get("text") for m in slack.messages[-3:]]),
            )
            latency_s = float(str(alert_told()[0]["ts"])) - produced
            assert daemon.terminate() == 0
        finally:
            daemon.close()
        windows.add(int(time.time()) // WINDOW_S)
        told = [
            m
            for m in slack.messages
            if "dead-lettered" in str(m.get("text")) or "dead letters" in str(m.get("text"))
        ]
    with app.sessions() as session:
        notices = session.execute(
            select(func.count()).where(OutboxRow.sink == "kafka", OutboxRow.state == OutboxState.SENT)
        ).scalar_one()
    app.close()
    Figures(
        scenario=f"{N_BAD} malformed messages, then an alert (webhook Slack, 60 a minute)",
        produced=N_BAD + 1,
        recorded=N_BAD + 1,
        sent=int(notices) + len(slack.messages),
        duplicated=0,
        lost=0,
        dead_lettered=N_BAD,
        extra={
            "alert_slack_latency_s": round(latency_s, 3),
            "dead_letter_messages": len(told),
            "windows": len(windows),
            "slack_messages": len(slack.messages),
        },
    ).report()
    print(json.dumps([m.get("text") for m in told]))
    assert notices == 2  # the alert's notice and VOEvent
    assert 1 <= len(told) <= len(windows)
