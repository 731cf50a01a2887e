"""A Slack incoming webhook cannot be asked what it received, so the dispatcher posts one webhook row
and records it before taking the next (issue 20, part 3): a crash or a kill -9 leaves at most one
row per dispatcher in doubt, so at most one message is posted twice. Real store, real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from skymist.ingest.inbox import Ingestor
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks import slack as slack_sink
from skymist.outbox.sinks.factory import build_sinks
from skymist.states import OutboxState
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow
from tests.helpers import envelope, raw, real_event, with_ids
from tests.support.scripted_http import Answer, ScriptedHttp
from tests.support.slack_api import SlackStandIn


def slack_only(app: Any) -> Dispatcher:
    sinks = build_sinks(app.settings)
    dispatcher = Dispatcher(app, {"slack": sinks.pop("slack")})
    for sink in sinks.values():
        sink.close()
    return dispatcher


def ingest_alerts(app: Any, shared_dir: Path, n: int) -> None:
    event = real_event(shared_dir)
    Ingestor(app).ingest_batch([raw(envelope(with_ids(event, 140800, i))) for i in range(n)])


def slack_rows(app: Any) -> list[OutboxRow]:
    with app.sessions() as session:
        return list(
            session.execute(
                select(OutboxRow).where(OutboxRow.sink == "slack").order_by(OutboxRow.id)
            ).scalars()
        )


def test_a_crash_after_a_webhook_post_doubles_at_most_one_message(
    app_factory: Any, shared_dir: Path, slack: SlackStandIn
) -> None:
    app = app_factory(slack_mode="webhook", slack_webhook_url=f"{slack.url}/webhook/T0/B0/secret")
    ingest_alerts(app, shared_dir, 3)
    dying = slack_only(app)
    with app.sessions() as session, session.begin():
        items, _ = dying._claim(session, utcnow())
    assert len(items) == 1  # one webhook row per claim
    dying._send(items)  # posted; the daemon dies before recording it
    dying.close()
    assert [row.state for row in slack_rows(app)] == [OutboxState.SENDING] + [OutboxState.PENDING] * 2
    with app.sessions() as session, session.begin():  # the lease runs out
        session.execute(update(OutboxRow).values(lease_until=utcnow()))
    heir = slack_only(app)
    totals = heir.drain(timeout_s=60)
    heir.close()
    assert totals.sent == 3
    texts = [m["text"] for m in slack.messages]
    assert len(texts) == 4 and len(set(texts)) == 3  # the one row in doubt was posted again
    assert app.metrics.snapshot().get("outbox_in_doubt_resends_slack") == 1


def test_a_hanging_webhook_leaves_one_row_in_doubt_and_pauses_the_sink(
    app_factory: Any, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_sink, "HOLD_BACK_S", 600.0)  # the pause outlasts any slow machine
    with ScriptedHttp(Answer(hang_s=30)) as http:
        app = app_factory(slack_mode="webhook", slack_webhook_url=http.url, sink_timeout_s=1.0)
        ingest_alerts(app, shared_dir, 3)
        dispatcher = slack_only(app)
        first = dispatcher.run_once()
        again = dispatcher.run_once()  # at once: the sink is paused, nothing is tried
        http.release.set()
        dispatcher.close()
        assert len(http.received) == 1
    assert (first.claimed, again.claimed) == (1, 0)
    assert not dispatcher._active("slack")
    doubt, *untouched = slack_rows(app)
    assert doubt.state == OutboxState.SENDING and "(answer lost)" in (doubt.last_error or "")
    # the others were never claimed: not tried, not held back, no attempt spent
    assert [(r.state, r.attempts, r.last_error) for r in untouched] == [(OutboxState.PENDING, 0, None)] * 2
