"""A daemon started before its input topic exists waits for it quietly: no "input stream" message to
the shifters (the broker withheld nothing: there was nothing yet), one INFO line; it consumes the
topic once it is made. A topic that was being consumed and goes away is still told. A real daemon
process, a mock Kafka cluster of the test's own (its topics made and deleted when the test says),
real PostgreSQL, Slack's Web API stand-in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from sqlalchemy import func, select

from skymist.app import App
from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import OutboxState
from skymist.store.models import OutboxRow
from tests import waiting
from tests.conftest import make_settings
from tests.support.daemon import DaemonProcess
from tests.support.mock_cluster import MockCluster
from tests.support.slack_api import SlackStandIn

INPUT_STREAM = "slack_input_stream"


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, log: Callable[[], str]) -> None:
    """tests.waiting.wait_for, failing with the daemon log's tail."""
    waiting.wait_for(condition, timeout_s, what, 0.2, describe=lambda: "daemon log tail:\n" + tail(log()))


def tail(text: str) -> str:
    return "\n".join(text.splitlines()[-30:])


def sent(app: App) -> int:
    query = select(func.count()).select_from(OutboxRow).where(OutboxRow.state == OutboxState.SENT)
    with app.sessions() as session:
        return int(session.execute(query).scalar_one())


def slack_about(slack: SlackStandIn, topic: str) -> list[str]:
    """Messages Slack received that name the input topic (told verbatim or in a digest)."""
    with slack.lock:
        messages = [json.dumps(m) for m in slack.messages]
    return [m for m in messages if topic in m]


def told_rows(app: App) -> list[str]:
    """The input-stream messages queued for the shifters (any state: sent, or folded in a digest)."""
    with app.sessions() as session:
        rows = session.execute(select(OutboxRow.payload).where(OutboxRow.product == INPUT_STREAM))
        return [json.loads(payload)["text"] for payload in rows.scalars()]


@pytest.mark.slow
def test_a_daemon_started_before_its_input_topic_waits_quietly_then_consumes(
    database_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    topic = f"realtime-late-{uuid.uuid4().hex[:8]}"
    with MockCluster() as cluster:
        settings = make_settings(
            database_url,
            kafka_bootstrap_servers=cluster.bootstrap,
            kafka_topics=[topic],
            kafka_session_timeout_ms=6000,
            slack_mode="web_api",
            slack_api_url=f"{slack.url}/api",
            slack_bot_token=slack.token,
            slack_channel="C0LATE",
            log_level="INFO",
        )
        app = build_app(settings)
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")
        try:
            daemon.start()
            # the daemon has subscribed and heard from the broker that the topic is not there
            wait_for(
                lambda: f"Subscribed topic not available: {topic}" in daemon.log_text(),
                60,
                "the daemon to find its input topic missing",
                daemon.log_text,
            )
            cluster.create_topic(topic, 4)
            producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 1})
            for _alert, value in alert_batch(2, seed=21, size_bytes=20_000, run_id=150200):
                producer.produce(topic, value)
            producer.flush(30)
            # notice JSON, VOEvent and the Slack message of each alert
            wait_for(lambda: sent(app) >= 6, 120, "the alerts' products", daemon.log_text)
            assert told_rows(app) == []
            assert slack_about(slack, topic) == []
            assert '"waiting for the input topic to exist"' in daemon.log_text()

            # a topic that was being consumed and is gone: its unread messages can never come
            cluster.delete_topic(topic)
            wait_for(lambda: bool(slack_about(slack, topic)), 120, "the shifters told", daemon.log_text)
            assert any(topic in text for text in told_rows(app))
            assert daemon.terminate() == 0, daemon.log_text()[-3000:]
        finally:
            daemon.close()
            app.close()
