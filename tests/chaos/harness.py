"""What every chaos scenario counts, from the store and the broker (never from the daemon's word):
produced, recorded, sent (distinct products on the topics / at Slack), duplicated, lost,
dead-lettered. Each scenario prints one ``CHAOS {json}`` line (``pytest -s`` shows it; with
``SKYMIST_CHAOS_REPORT=<file>`` the line is appended there too) and asserts 0 lost, 0 duplicated."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from skymist.config import Settings
from skymist.outbox.sinks.kafka import HEADER
from skymist.runtime.simulate import SimulatedAlert
from skymist.states import OutboxState
from skymist.store.models import Alert, DeadLetter, OutboxRow
from tests import waiting
from tests.conftest import MockKafka, make_settings
from tests.helpers import header, read_topic
from tests.support.slack_api import SlackStandIn


def daemon_settings(
    database_url: str, kafka: MockKafka, topic: str, slack: SlackStandIn, **overrides: Any
) -> Settings:
    """The settings of a chaos case's daemon: the topic, a static group member (a restarted daemon
    takes its partitions back at once), Slack's Web API stand-in (exactly once), short leases and
    batches of 50; ``overrides`` last."""
    values: dict[str, Any] = {
        "kafka_topics": [topic],
        "kafka_session_timeout_ms": 6000,
        "kafka_group_instance_id": f"chaos-{uuid.uuid4().hex[:6]}",
        "slack_mode": "web_api",
        "slack_api_url": f"{slack.url}/api",
        "slack_bot_token": slack.token,
        "slack_channel": "C0CHAOS",
        "outbox_lease_s": 3.0,
        "kafka_poll_batch": 50,
        "outbox_batch": 50,
    }
    return make_settings(database_url, kafka, **{**values, **overrides})


def wait_for(
    condition: Callable[[], bool], timeout_s: float, what: str, describe: Callable[[], object] | None = None
) -> None:
    """tests.waiting.wait_for, where a failing look counts as "not yet" (the store may be down in the
    middle of a scenario)."""
    waiting.wait_for(condition, timeout_s, what, 0.25, describe=describe, tolerate=(Exception,))


def webhook_mode(slack: SlackStandIn) -> dict[str, Any]:
    """Settings that send Slack through ``slack``'s incoming webhook (instead of the Web API)."""
    return {"slack_mode": "webhook", "slack_webhook_url": f"{slack.url}/webhook/T0/B0/secret"}


def every_product_sent_then_stop(app: Any, daemon: Any, n_alerts: int, timeout_s: float = 300) -> None:
    """Wait until each of ``n_alerts`` alerts has its three products sent, then SIGTERM the daemon,
    which must exit 0: what the topics hold afterwards is all it sent."""
    wait_for(
        lambda: count_sent(app) >= 3 * n_alerts,
        timeout_s,
        "every alert's three products",
        lambda: outbox_states(app),
    )
    code = daemon.terminate()
    assert code == 0, daemon.log_text()[-3000:]


@dataclass
class Figures:
    scenario: str
    produced: int
    recorded: int
    sent: int
    duplicated: int
    lost: int
    dead_lettered: int
    extra: dict[str, Any] = field(default_factory=dict)

    def report(self) -> None:
        line = "CHAOS " + json.dumps(asdict(self))
        print(line)
        target = os.environ.get("SKYMIST_CHAOS_REPORT")
        if target:
            with open(target, "a") as out:
                out.write(line + "\n")

    def check(self) -> None:
        self.report()
        assert (self.lost, self.duplicated) == (0, 0), self


def count_sent(app: Any) -> int:
    with app.sessions() as session:
        return int(
            session.execute(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.state == OutboxState.SENT)
            ).scalar_one()
        )


def outbox_states(app: Any) -> dict[str, int]:
    """Outbox rows by sink and state, and the inbox and alert counts (for a failure's message)."""
    from skymist.store.models import InboxMessage

    with app.sessions() as session:
        rows = session.execute(
            select(OutboxRow.sink, OutboxRow.state, func.count()).group_by(OutboxRow.sink, OutboxRow.state)
        ).all()
        out = {f"{sink}/{state.value}": int(n) for sink, state, n in rows}
        out["inbox"] = int(session.execute(select(func.count()).select_from(InboxMessage)).scalar_one())
        out["alerts"] = int(session.execute(select(func.count()).select_from(Alert)).scalar_one())
    return out


def count_alerts(app: Any, run_id: int) -> int:
    with app.sessions() as session:
        return int(
            session.execute(
                select(func.count()).select_from(Alert).where(Alert.run_id == run_id)
            ).scalar_one()
        )


def figures(
    scenario: str,
    app: Any,
    bootstrap: str,
    produced: Sequence[SimulatedAlert],
    *,
    slack_keys: Sequence[str] = (),
    expect_slack: bool = True,
    **extra: Any,
) -> Figures:
    """Count everything the scenario produced and what came out of it."""
    wanted = {(a.run_id, a.event_id) for a in produced}
    with app.sessions() as session:
        stored = {(int(r), int(e)) for r, e in session.execute(select(Alert.run_id, Alert.event_id))}
        letters = int(session.execute(select(func.count()).select_from(DeadLetter)).scalar_one())
    settings = app.settings
    keys: Counter[str] = Counter()
    for topic in (settings.notice_topic, settings.voevent_topic):
        for message in read_topic(bootstrap, topic, expect=len(wanted)):
            keys[header(message, HEADER) or "?"] += 1
    keys.update(slack_keys)
    noticed = set()
    for key in keys:
        if key.endswith(":notice_json"):
            run, _, event = key.split(":", 1)[0].partition("_")
            noticed.add((int(run), int(event)))
    products_expected = len(wanted) * (3 if expect_slack else 2)
    return Figures(
        scenario=scenario,
        produced=len(wanted),
        recorded=len(wanted & stored),
        sent=len(keys),
        duplicated=sum(n - 1 for n in keys.values()),
        lost=len(wanted - (stored & noticed)) + max(0, products_expected - len(keys)),
        dead_lettered=letters,
        extra=extra,
    )


class PacedProducer:
    """Produces ``values`` in a thread, ``per_flush`` at a time every ``pause_s``; with ``hold_at``, it
    stops after that many (flushed) until ``release()`` (a fault lands mid-stream on any machine)."""

    def __init__(
        self,
        producer: Any,
        topic: str,
        values: Sequence[bytes],
        per_flush: int,
        pause_s: float,
        hold_at: int | None = None,
    ) -> None:
        self.done = threading.Event()
        self.held = threading.Event()
        self._released = threading.Event()
        self.produced = 0

        def run() -> None:
            for index, value in enumerate(values):
                if index == hold_at:
                    producer.flush(30)
                    self.held.set()
                    self._released.wait()
                producer.produce(topic, value)
                self.produced += 1
                if index % per_flush == per_flush - 1:
                    producer.flush(30)
                    time.sleep(pause_s)
            producer.flush(30)
            self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def release(self) -> None:
        self._released.set()
