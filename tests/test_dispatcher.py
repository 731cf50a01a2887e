"""The outbox dispatcher against a real Kafka-protocol broker and a local Slack: each product once."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from skymist.ingest.inbox import Ingestor
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.outbox.sinks.kafka import HEADER
from skymist.states import AlertState, OutboxState
from skymist.store.models import Alert, OutboxRow
from skymist.store.types import utcnow
from tests.conftest import MockKafka
from tests.helpers import envelope, header, raw, read_topic, real_event, with_ids
from tests.support.slack_api import SlackStandIn


def ingest_alerts(app: Any, shared_dir: Path, n: int) -> None:
    event = real_event(shared_dir)
    Ingestor(app).ingest_batch([raw(envelope(with_ids(event, 140100, i))) for i in range(n)])


def webhook(slack: SlackStandIn) -> dict[str, Any]:
    return {"slack_mode": "webhook", "slack_webhook_url": f"{slack.url}/webhook/T0/B0/secret"}


@pytest.mark.slow
def test_every_product_is_sent_once(
    app_factory: Any, shared_dir: Path, kafka: MockKafka, slack: SlackStandIn
) -> None:
    app = app_factory(**webhook(slack))
    ingest_alerts(app, shared_dir, 3)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    totals = dispatcher.drain(timeout_s=60)
    assert (totals.sent, totals.dead) == (9, 0)
    assert dispatcher.drain(timeout_s=5).claimed == 0  # nothing is sent twice
    dispatcher.close()
    notices = read_topic(kafka.bootstrap, app.settings.notice_topic, expect=3)
    voevents = read_topic(kafka.bootstrap, app.settings.voevent_topic, expect=3)
    assert len(notices) == 3 and len(voevents) == 3 and len(slack.messages) == 3
    assert len({header(m, HEADER) for m in notices}) == 3
    assert all(m.value().startswith(b"<?xml") for m in voevents)
    with app.sessions() as session:
        states = set(session.execute(select(Alert.state)).scalars())
        refs = list(session.execute(select(OutboxRow.delivery_ref)).scalars())
    assert states == {AlertState.PROMPT_SENT}
    assert all(refs)


def test_failures_are_retried_with_backoff(app_factory: Any, shared_dir: Path, slack: SlackStandIn) -> None:
    app = app_factory(**webhook(slack))
    ingest_alerts(app, shared_dir, 1)
    slack.fail_next = 2
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dispatcher.run_once()
        with app.sessions() as session:
            row = session.execute(select(OutboxRow).where(OutboxRow.sink == "slack")).scalar_one()
        if row.state == OutboxState.SENT:
            break
        time.sleep(0.05)
    dispatcher.close()
    assert row.state == OutboxState.SENT and row.attempts == 3
    assert len(slack.messages) == 1


def test_a_row_that_keeps_failing_goes_dead_and_shifters_are_told(
    app_factory: Any, shared_dir: Path, slack: SlackStandIn
) -> None:
    # the VOEvent (~4 kB) is larger than this producer accepts: every attempt fails
    app = app_factory(**webhook(slack), outbox_max_attempts=3, kafka_config={"message.max.bytes": "2000"})
    ingest_alerts(app, shared_dir, 1)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dispatcher.run_once()
        with app.sessions() as session:
            row = session.execute(select(OutboxRow).where(OutboxRow.product == "voevent")).scalar_one()
            told = session.execute(select(OutboxRow).where(OutboxRow.product == "slack_digest")).scalar()
        if row.state == OutboxState.DEAD and told is not None and told.state == OutboxState.SENT:
            break
        time.sleep(0.05)
    dispatcher.close()
    assert row.state == OutboxState.DEAD and row.attempts == 3 and row.last_error
    # the first of its kind in a quiet window: told at once, verbatim, as the window's digest
    assert any("gave up sending voevent" in text for text in slack.texts())
    with app.sessions() as session:
        dead_told = session.execute(
            select(OutboxRow).where(OutboxRow.product == "slack_outbox_dead")
        ).scalar_one()
    assert dead_told.state == OutboxState.CANCELLED and told is not None
    assert dead_told.last_error == f"told in the Slack digest {told.idempotency_key}"
    with app.sessions() as session:
        assert session.execute(select(Alert.state)).scalar_one() == AlertState.PROMPT_QUEUED


def crash_after_sending(app: Any) -> None:
    """Claim and really send a batch, then 'die' before recording it: rows stay ``sending``."""
    dying = Dispatcher(app, build_sinks(app.settings))
    with app.sessions() as session, session.begin():
        items, _ = dying._claim(session, utcnow())
    dying._send(items)
    dying.close()
    with app.sessions() as session, session.begin():  # the lease runs out
        session.execute(update(OutboxRow).values(lease_until=utcnow()))


@pytest.mark.slow
def test_in_doubt_sends_are_verified_not_repeated(
    app_factory: Any, shared_dir: Path, kafka: MockKafka, slack: SlackStandIn
) -> None:
    app = app_factory(
        slack_mode="web_api",
        slack_api_url=f"{slack.url}/api",
        slack_bot_token=slack.token,
        slack_channel="C0ALERTS",
    )
    ingest_alerts(app, shared_dir, 2)
    crash_after_sending(app)
    assert len(slack.messages) == 2
    heir = Dispatcher(app, build_sinks(app.settings))
    totals = heir.drain(timeout_s=60)
    heir.close()
    assert totals.verified == 6 and totals.sent == 6
    assert len(read_topic(kafka.bootstrap, app.settings.notice_topic, expect=2)) == 2
    assert len(read_topic(kafka.bootstrap, app.settings.voevent_topic, expect=2)) == 2
    assert len(slack.messages) == 2
    with app.sessions() as session:
        refs = Counter(session.execute(select(OutboxRow.delivery_ref)).scalars())
    assert refs == {"verified after an interrupted send": 6}


@pytest.mark.slow
def test_in_doubt_rows_not_delivered_are_sent(
    app_factory: Any, shared_dir: Path, kafka: MockKafka, slack: SlackStandIn
) -> None:
    app = app_factory(**webhook(slack))
    ingest_alerts(app, shared_dir, 1)
    with app.sessions() as session, session.begin():  # claimed, then the daemon died before sending
        Dispatcher(app, build_sinks(app.settings))._claim(session, utcnow())
        session.execute(update(OutboxRow).values(lease_until=utcnow()))
    heir = Dispatcher(app, build_sinks(app.settings))
    totals = heir.drain(timeout_s=60)
    heir.close()
    assert (totals.verified, totals.sent) == (0, 3)
    assert len(read_topic(kafka.bootstrap, app.settings.notice_topic, expect=1)) == 1
    assert len(slack.messages) == 1


def test_a_retracted_alert_blocks_pending_sends(
    app_factory: Any, shared_dir: Path, slack: SlackStandIn
) -> None:
    app = app_factory(**webhook(slack))
    ingest_alerts(app, shared_dir, 1)
    with app.sessions() as session, session.begin():
        session.execute(update(Alert).values(state=AlertState.RETRACTED))
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    totals = dispatcher.drain(timeout_s=10)
    dispatcher.close()
    assert (totals.sent, totals.cancelled) == (0, 3)
    assert slack.messages == []


def test_slack_is_paced_without_holding_up_notices(
    app_factory: Any, shared_dir: Path, kafka: MockKafka, slack: SlackStandIn
) -> None:
    app = app_factory(**webhook(slack), slack_max_per_minute=2)
    ingest_alerts(app, shared_dir, 3)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    totals = dispatcher.drain(timeout_s=30)
    dispatcher.close()
    assert totals.sent == 3 * 2 + 2  # every notice and VOEvent, and two Slack messages this minute
    assert len(slack.messages) == 2
    with app.sessions() as session:
        waiting = session.execute(select(OutboxRow).where(OutboxRow.state == OutboxState.PENDING)).scalars()
        assert [row.sink for row in waiting] == ["slack"]
