"""Shifters' Slack messages by importance (issue 20, part 2), with the real store, the real ingest path
and the local Slack receiver: a flood of dead letters never delays an alert's message, and each kind
of operational message is told at most once per window (the first at once, the rest as one digest)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from skymist.archive.hooks import stop_records
from skymist.ingest.inbox import Ingestor, RawMessage
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.queue import HELD_UNTIL
from skymist.outbox.sinks.factory import build_sinks
from skymist.outbox.slack_digest import HOLD_NOTE
from skymist.runtime.shifters import tell_in
from skymist.states import OutboxState
from skymist.store.models import OutboxRow
from tests.chaos.harness import wait_for
from tests.helpers import envelope, raw, real_event, with_ids
from tests.support.slack_api import SlackStandIn

#: three kinds of bad input, in the proportions 3:2:1 (so the digest has top reasons to rank)
BAD = (b"not json at all", b'{"alert": {"stream": "GOLD"}}', b"[1, 2, 3]")


def malformed(n: int, topic: str) -> list[RawMessage]:
    return [raw(BAD[(0, 0, 0, 1, 1, 2)[i % 6]], topic=topic) for i in range(n)]


def webhook(slack: SlackStandIn, **overrides: Any) -> dict[str, Any]:
    return {"slack_mode": "webhook", "slack_webhook_url": f"{slack.url}/webhook/T0/B0/secret", **overrides}


@contextmanager
def slack_dispatcher(app: Any) -> Iterator[None]:
    """The daemon's Slack dispatcher loop, in a thread."""
    sinks = build_sinks(app.settings)
    dispatcher = Dispatcher(app, {"slack": sinks.pop("slack")})
    for sink in sinks.values():
        sink.close()
    stop, wake = threading.Event(), threading.Event()
    thread = threading.Thread(target=dispatcher.run_forever, args=(stop, wake), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        wake.set()
        thread.join(timeout=30)
        dispatcher.close()
        stop_records(app.outbox_hooks, flush_s=10, timeout_s=10)  # as the dispatch job stops


def rows_of(app: Any, product: str) -> list[OutboxRow]:
    with app.sessions() as session:
        return list(
            session.execute(
                select(OutboxRow).where(OutboxRow.product == product).order_by(OutboxRow.id)
            ).scalars()
        )


def told_count(message: dict[str, Any]) -> int:
    """How many dead letters one Slack message tells of (a digest's count, or 1 for a single one)."""
    text = str(message.get("text", ""))
    if text.startswith("Input message dead-lettered: "):
        return 1
    found = re.match(r"SkyMist: ([\d,]+) dead letters from ", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def about_dead_letters(message: dict[str, Any]) -> bool:
    text = str(message.get("text", ""))
    return text.startswith("Input message dead-lettered: ") or " dead letters from " in text


def test_a_flood_of_dead_letters_never_delays_an_alert_message(
    app_factory: Any, shared_dir: Path, slack: SlackStandIn
) -> None:
    """2,500 malformed messages, then a real alert: the alert's Slack message leaves at once (the
    old dispatcher posted the 2,500 dead-letter messages first, at 60 a minute: 40 minutes), and
    the shifters get at most one message about the flood per window."""
    app = app_factory(**webhook(slack, slack_max_per_minute=60, slack_digest_window_s=3600))
    ingestor = Ingestor(app)
    windows = {int(time.time()) // 3600}
    with slack_dispatcher(app):
        for _ in range(0, 2500, 50):  # as the consumer hands them over: 50 per transaction
            ingestor.ingest_batch(malformed(50, "t-flood"))
        event = real_event(shared_dir)
        [result] = ingestor.ingest_batch([raw(envelope(with_ids(event, 140700, 1)), topic="t-flood")])
        assert result.status == "processed"
        queued = time.monotonic()
        wait_for(
            lambda: [row.state for row in rows_of(app, "slack_alert")] == [OutboxState.SENT],
            60,
            "the alert's Slack message",
            lambda: (len(slack.messages), [m.get("text") for m in slack.messages[-3:]]),
        )
        seen_after_s = time.monotonic() - queued
    windows.add(int(time.time()) // 3600)
    [alert_row] = rows_of(app, "slack_alert")
    assert alert_row.sent_at is not None
    latency_s = (alert_row.sent_at - alert_row.created_at).total_seconds()
    print(json.dumps({"alert_slack_latency_s": round(latency_s, 3), "seen_after_s": round(seen_after_s, 3)}))
    told = [m for m in slack.messages if about_dead_letters(m)]
    assert 1 <= len(told) <= len(windows), [m.get("text") for m in told]
    letters = rows_of(app, "slack_dead_letter")
    assert len(letters) == 2500
    digests = {row.idempotency_key: row for row in rows_of(app, "slack_digest")}
    folded = [row for row in letters if row.state == OutboxState.CANCELLED]
    waiting = [row for row in letters if row.state == OutboxState.PENDING]
    # every dead letter is told in a digest already posted, or waits (held) for the next window's
    assert len(folded) + len(waiting) == 2500
    assert all(row.last_error and row.last_error.split()[-1] in digests for row in folded)
    assert all(row.next_attempt_at == HELD_UNTIL and row.last_error == HOLD_NOTE for row in waiting)
    assert sum(told_count(m) for m in told) == len(folded)


def test_operational_messages_are_told_once_per_window_first_at_once(
    app_factory: Any, slack: SlackStandIn
) -> None:
    """A dead letter in a quiet window is told at once as it is; the 120 that follow become one
    digest in a later window with their count and top reasons; every one is told exactly once."""
    app = app_factory(
        **webhook(slack, slack_digest_window_s=2, console_base_url="https://roc.example.org/sm")
    )
    ingestor = Ingestor(app)
    with slack_dispatcher(app):
        ingestor.ingest_batch([raw(b"first: not json", topic="t-quiet")])
        wait_for(lambda: len(slack.messages) == 1, 30, "the first dead letter's message")
        first = slack.messages[0]
        assert first["text"].startswith("Input message dead-lettered: t-quiet/0/0: ")
        for _ in range(4):
            ingestor.ingest_batch(malformed(30, "t-quiet"))
        wait_for(
            lambda: (
                all(row.state == OutboxState.CANCELLED for row in rows_of(app, "slack_dead_letter"))
                and all(row.state == OutboxState.SENT for row in rows_of(app, "slack_digest"))
            ),
            60,
            "every dead letter told in a digest",
            lambda: [(row.state, row.last_error) for row in rows_of(app, "slack_digest")],
        )
    digests = rows_of(app, "slack_digest")
    assert len(slack.messages) == len(digests)  # nothing but the digests went to Slack
    assert sum(told_count(m) for m in slack.messages) == 121
    windows = [row.idempotency_key.rsplit(":", 1)[1] for row in digests]
    assert len(set(windows)) == len(windows)  # at most one message per window
    assert all(row.idempotency_key.startswith("digest:dead_letters:") for row in digests)
    biggest = max(slack.messages, key=told_count)
    assert told_count(biggest) > 1
    body = json.dumps(biggest["blocks"], ensure_ascii=False)
    # the top reason of the flood is the most frequent one, with its count
    reasons = re.findall(r"• ([\d,]+) × ([^\\]*)", body)
    assert reasons and reasons[0][1].startswith("t-quiet: not valid JSON"), reasons
    assert sum(int(n.replace(",", "")) for n, _ in reasons) == told_count(biggest)
    assert "https://roc.example.org/sm/health" in body and "skymist dead-letter list" in body
    with app.sessions() as session:
        not_told = session.execute(
            select(func.count()).where(
                OutboxRow.product == "slack_dead_letter", OutboxRow.state != OutboxState.CANCELLED
            )
        ).scalar_one()
    assert not_told == 0


def test_alert_messages_go_first_and_operational_ones_get_their_share(
    app_factory: Any, shared_dir: Path, slack: SlackStandIn
) -> None:
    """Five health warnings queued before three alerts, Slack paced at 5 a minute of which 2 may be
    operational: the three alerts and two warnings go out, three warnings wait for the next minute
    (oldest first, the warnings would have taken the whole minute)."""
    app = app_factory(**webhook(slack, slack_max_per_minute=5, slack_operational_max_per_minute=2))
    with app.sessions() as session, session.begin():
        for n in range(5):
            assert tell_in(session, app, key=f"test-warning:{n}", title=f"warning {n}", detail="d", hint="h")
    event = real_event(shared_dir)
    Ingestor(app).ingest_batch([raw(envelope(with_ids(event, 140710, i)), topic="t-first") for i in range(3)])
    sinks = build_sinks(app.settings)
    dispatcher = Dispatcher(app, {"slack": sinks.pop("slack")})
    for sink in sinks.values():
        sink.close()
    totals = dispatcher.drain(timeout_s=60)
    dispatcher.close()
    assert totals.sent == 5
    texts = [m["text"] for m in slack.messages]
    assert sum(" alert (Rev 0)" in t for t in texts) == 3
    assert [t for t in texts if t.startswith("SkyMist: warning")] == [
        "SkyMist: warning 0",
        "SkyMist: warning 1",
    ]
    assert [row.state for row in rows_of(app, "slack_ops")] == [OutboxState.SENT] * 2 + [
        OutboxState.PENDING
    ] * 3
