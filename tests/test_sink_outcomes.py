"""Send outcomes are classified, and every sink is dispatched on its own (real HTTP, real Kafka
protocol, real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from skymist.ingest.inbox import Ingestor
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.base import OutboxItem
from skymist.outbox.sinks.factory import build_sinks
from skymist.outbox.sinks.slack import HOLD_BACK_S, SlackWebhookSink
from skymist.runtime.jobs import DispatchJob, Doorbell
from skymist.states import OutboxState
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow
from tests.helpers import envelope, raw, real_event, with_ids
from tests.support.scripted_http import Answer, ScriptedHttp


def item(n: int) -> OutboxItem:
    return OutboxItem(
        n,
        "slack",
        "shifters",
        "slack_alert",
        f"k{n}",
        b'{"text": "hi"}',
        "application/json",
        None,
        None,
        False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_429_waits_retry_after_and_holds_the_batch_back() -> None:
    with ScriptedHttp(Answer(429, b"rate_limited", {"Retry-After": "7"})) as http:
        results = SlackWebhookSink(http.url, timeout_s=5).send([item(1), item(2), item(3)])
        assert len(http.received) == 1  # the rest of the batch was not sent into the limit
    assert [r.retry_after_s for r in results] == [7.0, 7.0, 7.0]
    assert not any(r.undecided or r.permanent for r in results)


@pytest.mark.parametrize(
    ("answer", "permanent"),
    [
        (Answer(500, b"internal_error"), False),
        (Answer(503, b""), False),
        (Answer(404, b"no_service"), True),
        (Answer(400, b"invalid_payload"), True),
        (Answer(409, b"conflict"), False),
    ],
)
def test_an_http_answer_is_never_in_doubt(answer: Answer, permanent: bool) -> None:
    with ScriptedHttp(answer) as http:
        [result] = SlackWebhookSink(http.url, timeout_s=5).send([item(1)])
    assert not result.ok and not result.undecided and result.permanent == permanent
    assert f"HTTP {answer.status}" in (result.error or "")


def test_a_refused_connection_is_not_in_doubt() -> None:
    results = SlackWebhookSink(f"http://127.0.0.1:{free_port()}/hook", timeout_s=2).send([item(1), item(2)])
    assert not results[0].undecided and "(not sent)" in (results[0].error or "")
    assert results[1].retry_after_s is not None  # held back, not tried


@pytest.mark.parametrize("answer", [Answer(hang_s=30), Answer(drop=True)])
def test_only_a_lost_answer_is_in_doubt(answer: Answer) -> None:
    with ScriptedHttp(answer) as http:
        results = SlackWebhookSink(http.url, timeout_s=1).send([item(1), item(2)])
        http.release.set()
    assert results[0].undecided and "(answer lost)" in (results[0].error or "")
    assert results[0].pause_sink_s == HOLD_BACK_S  # the dispatcher lets a silent Slack be a while
    assert results[1].retry_after_s is not None and not results[1].undecided


def _ingest(app: Any, shared_dir: Path, n: int, first: int = 0) -> None:
    event = real_event(shared_dir)
    Ingestor(app).ingest_batch([raw(envelope(with_ids(event, 140500, first + i))) for i in range(n)])


def test_a_429_row_is_due_after_retry_after_and_no_attempt_is_spent(
    app_factory: Any, shared_dir: Path
) -> None:
    with ScriptedHttp(Answer(429, b"", {"Retry-After": "120"})) as http:
        app = app_factory(slack_mode="webhook", slack_webhook_url=http.url)
        _ingest(app, shared_dir, 1)
        sinks = build_sinks(app.settings)
        dispatcher = Dispatcher(app, {"slack": sinks["slack"]})
        before = utcnow()
        stats = dispatcher.run_once()
        assert (stats.claimed, stats.sent) == (1, 0)
        assert dispatcher.run_once().claimed == 0  # the sink is paused until then
    with app.sessions() as session:
        row = session.execute(select(OutboxRow).where(OutboxRow.sink == "slack")).scalar_one()
    assert row.state == OutboxState.PENDING and row.attempts == 0
    assert row.next_attempt_at >= before + dt.timedelta(seconds=119)


def test_webhook_in_doubt_resends_are_counted(app_factory: Any, shared_dir: Path) -> None:
    with ScriptedHttp() as http:
        app = app_factory(slack_mode="webhook", slack_webhook_url=http.url)
        _ingest(app, shared_dir, 1)
        with app.sessions() as session, session.begin():  # claimed, sent, then the daemon died
            Dispatcher(app, {})._claim(session, utcnow())
            session.execute(
                update(OutboxRow).values(state=OutboxState.SENDING, lease_until=utcnow(), attempts=1)
            )
        sinks = build_sinks(app.settings)
        heir = Dispatcher(app, {"slack": sinks["slack"]})
        assert heir.drain(timeout_s=20).sent == 1
        heir.close()
    assert app.metrics.snapshot()["outbox_in_doubt_resends_slack"] == 1


@pytest.mark.slow
def test_a_hanging_slack_holds_up_no_notice(app_factory: Any, shared_dir: Path) -> None:
    """The dispatch job runs one loop per sink: every notice and VOEvent goes out while the Slack
    webhook hangs (its first POST is still waiting for an answer)."""
    with ScriptedHttp(default=Answer(hang_s=60)) as http:
        app = app_factory(slack_mode="webhook", slack_webhook_url=http.url, sink_timeout_s=60.0)
        doorbell = Doorbell()
        job = DispatchJob(app, build_sinks(app.settings), doorbell)
        job.start()
        try:
            for batch in range(3):
                _ingest(app, shared_dir, 4, first=10 * batch)
                doorbell.set()
                time.sleep(0.5)

            def states() -> dict[str, set[OutboxState]]:
                with app.sessions() as session:
                    rows = session.execute(select(OutboxRow.sink, OutboxRow.state)).all()
                out: dict[str, set[OutboxState]] = {}
                for sink, state in rows:
                    out.setdefault(sink, set()).add(state)
                return out

            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and states().get("kafka") != {OutboxState.SENT}:
                time.sleep(0.2)
            found = states()
            assert found["kafka"] == {OutboxState.SENT}
            assert OutboxState.SENT not in found["slack"] and len(http.received) == 1
        finally:
            http.release.set()
            job.stop()
    assert job.failure() is None
