"""The console's view of what is stuck, over HTTP (FastAPI's test client) on real PostgreSQL and
IceCube-220524A localized from its real scan (its Rev 0 products queued, never sent: no dispatcher
runs here): the list's delivery state and late badge, sorted by need of attention; the banner and
the poll that refreshes it; the Circular's approval that names what is undelivered and is refused
until overridden in writing (audited); the trouble page and its actions; the icon (no 404)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from skymist.app import App
from skymist.ingest.inbox import Ingestor
from skymist.states import CircularState, DeadLetterState, OutboxState, ScanState
from skymist.store.console_models import ConsoleSession
from skymist.store.models import DeadLetter, OutboxRow
from skymist.store.product_models import Circular
from tests.console.test_console_http import audit, client, localized, log_in
from tests.helpers import raw
from tests.ops.test_check import age
from tests.ops.test_trouble_record import add_scan

__all__ = ["client", "localized"]  # fixtures

pytestmark = pytest.mark.slow  # the worker's first console test localizes the real scan (seconds)


def rev0_rows(app: App, alert_id: int) -> list[OutboxRow]:
    with app.sessions() as session:
        return list(
            session.execute(
                select(OutboxRow).where(OutboxRow.alert_id == alert_id, OutboxRow.revision == 0)
            ).scalars()
        )


def test_list_shows_delivery_late_badge_and_sorts_by_attention(
    client: TestClient, localized: tuple[App, int]
) -> None:
    app, alert_id = localized
    log_in(client, "alice")
    page = client.get("/alerts").text
    row = page[page.index(f'data-alert="{alert_id}"') :]
    assert 'data-product="notice_json" data-state="pending"' in row and "pending for" in row
    assert 'data-field="late"' not in row  # queued a moment ago: not late (check_outbox_age_warning_s 60 s)
    age(app, OutboxRow, 180, OutboxRow.created_at)  # the products have waited 3 minutes
    assert client.get("/health").status_code == 200  # the checks run now (the banner reuses them)
    page = client.get("/alerts?sort=attention").text
    row = page[page.index(f'data-alert="{alert_id}"') :]
    assert re.search(r'data-field="late">late<', row)
    assert re.search(r"oldest undelivered: 3 min", row)
    assert "Rev 0: " in row and "Rev 1: " in row and 'data-state="held"' in row  # Rev 1 waits for approval
    bad = client.get("/alerts?sort=newest")
    assert bad.status_code == 400 and "sort = &#39;newest&#39;: one of time, attention" in bad.text
    # the banner: skymist check's outbox check is WARNING (3 minutes: over 60 s, under 300 s)
    assert 'id="health-banner"' in page and "outbox (oldest unsent row" in page
    status = client.get("/status.json").json()["banner"]
    assert status["show"] and "outbox" in {c["name"] for c in status["checks"]}
    live = client.get("/alerts/live.json").json()
    assert set(live) == {"scans", "attention", "banner"} and re.search(
        r'data-attention="' + live["attention"], page
    )


def test_approval_names_the_undelivered_notice_and_needs_a_written_override(
    client: TestClient, localized: tuple[App, int]
) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    review = client.post(
        f"/alerts/{alert_id}/act/approve", data={"csrf_token": csrf, "step": "review", "reason": "ok"}
    )
    assert review.status_code == 200 and "Not yet delivered" in review.text
    assert "Rev 0 notice_json: pending for" in review.text and "Rev 0 voevent: pending for" in review.text
    assert "Approval refused: the Rev 0 GCN notice the Circular cites was never sent" in review.text
    refused = client.post(
        f"/alerts/{alert_id}/act/approve", data={"csrf_token": csrf, "step": "confirm", "reason": "ok"}
    )
    assert refused.status_code == 409 and "approval refused" in refused.text
    with app.sessions() as session:
        assert session.execute(select(Circular.state)).scalar_one() == CircularState.AWAITING_APPROVAL
    done = client.post(
        f"/alerts/{alert_id}/act/approve",
        data={"csrf_token": csrf, "step": "confirm", "reason": "ok", "override": "  GCN   has it by phone "},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert audit(app, "circular_approval_override") == [("alice", "GCN has it by phone")]
    assert audit(app, "circular_approved") == [("alice", "ok")]


def test_approval_once_the_notice_was_sent_needs_no_override(
    client: TestClient, localized: tuple[App, int]
) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    with app.sessions() as session, session.begin():
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.alert_id == alert_id, OutboxRow.revision == 0)
            .values(state=OutboxState.SENT)
        )
    review = client.post(
        f"/alerts/{alert_id}/act/approve", data={"csrf_token": csrf, "step": "review", "reason": "ok"}
    )
    assert (
        review.status_code == 200
        and "Approval refused" not in review.text
        and "Not yet delivered" not in review.text
    )
    done = client.post(
        f"/alerts/{alert_id}/act/approve",
        data={"csrf_token": csrf, "step": "confirm", "reason": "ok"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and audit(app, "circular_approval_override") == []


def test_trouble_page_lists_and_acts_as_the_cli_does(client: TestClient, localized: tuple[App, int]) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    [letter] = Ingestor(app).ingest_batch([raw(b'{"alert": {"stream": "GOLD"}, "event": {}}')])
    assert letter.status == "dead_letter"
    notice = next(r for r in rev0_rows(app, alert_id) if r.product == "voevent")
    with app.sessions() as session, session.begin():
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == notice.id)
            .values(state=OutboxState.DEAD, last_error="refused")
        )
        letter_id = session.execute(select(DeadLetter.id)).scalar_one()
    page = client.get("/trouble")
    assert page.status_code == 200
    assert f'data-trouble="dead_letter:{letter_id}"' in page.text
    assert f'data-trouble="outbox_dead:{notice.id}"' in page.text and "refused" in page.text

    def post(**fields: Any) -> Any:
        return client.post("/trouble/act", data={"csrf_token": csrf, **fields}, follow_redirects=False)

    assert (
        client.post(
            "/trouble/act", data={"kind": "outbox_dead", "id": str(notice.id), "action": "retry"}
        ).status_code
        == 403
    )
    assert post(kind="nonsense", id="1", action="retry").status_code == 400
    assert post(kind="outbox_dead", id=str(notice.id), action="replay").status_code == 400
    retried = post(kind="outbox_dead", id=str(notice.id), action="retry", reason="broker fixed")
    assert retried.status_code == 303 and retried.headers["location"] == "/trouble"
    with app.sessions() as session:
        assert session.get(OutboxRow, notice.id).state == OutboxState.PENDING  # type: ignore[union-attr]
    assert audit(app, "outbox_retried") == [("alice", "broker fixed")]
    no_reason = post(kind="dead_letter", id=str(letter_id), action="discard", reason=" ")
    assert no_reason.status_code == 409 and "needs a reason" in no_reason.text
    assert (
        post(kind="dead_letter", id=str(letter_id), action="discard", reason="test message").status_code
        == 303
    )
    with app.sessions() as session:
        assert session.get(DeadLetter, letter_id).state == DeadLetterState.DISCARDED  # type: ignore[union-attr]
    assert audit(app, "dead_letter_discarded") == [("alice", "test message")]
    again = post(kind="dead_letter", id=str(letter_id), action="replay")
    assert again.status_code == 409 and "already discarded" in again.text
    after = client.get("/trouble").text
    assert (
        f'data-trouble="dead_letter:{letter_id}"' not in after
        and f'data-trouble="outbox_dead:{notice.id}"' not in after
    )


def test_the_icon_is_served_so_no_page_logs_a_404(client: TestClient) -> None:
    for path in ("/favicon.ico", "/static/favicon.svg"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
        assert answer.text.startswith("<svg")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text


def test_the_pages_polls_do_not_keep_an_unattended_session_alive(
    client: TestClient, localized: tuple[App, int]
) -> None:
    """Every page polls (banner, progress) every console_live_refresh_s: a poll is not use, so an open
    but unattended page still ends its session after console_session_idle_s; a page view is use."""
    app, _ = localized
    log_in(client, "alice")

    def last_seen() -> Any:
        with app.sessions() as session:
            return session.execute(select(ConsoleSession.last_seen_at)).scalar_one()

    age(app, ConsoleSession, 120, ConsoleSession.last_seen_at)  # last used two minutes ago
    before = last_seen()
    for poll in ("/status.json", "/alerts/live.json", f"/alerts/{localized[1]}/live.json"):
        assert client.get(poll).status_code == 200
    assert last_seen() == before
    assert client.get("/trouble").status_code == 200
    assert last_seen() > before


def test_failed_scans_and_hand_offs_are_acknowledged_or_retried_from_the_trouble_page(
    client: TestClient, localized: tuple[App, int], real_scan_json: bytes
) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    failed = add_scan(app, alert_id, "fast", ScanState.FAILED, last_error="deadline passed")
    handoff = add_scan(
        app,
        alert_id,
        "slow",
        ScanState.FINAL,
        backend_scan_id="b1",
        result=real_scan_json,
        handoff_attempts=app.settings.handoff_max_attempts,
        handoff_error="OSError: disk full",
    )
    page = client.get("/trouble").text
    assert (
        f'data-trouble="scan_failed:{failed}"' in page and f'data-trouble="handoff_failed:{handoff}"' in page
    )
    assert f'href="/alerts/{alert_id}/act/rescan?target={failed}"' in page  # the rescan of the alert's page

    def post(**fields: Any) -> Any:
        return client.post("/trouble/act", data={"csrf_token": csrf, **fields}, follow_redirects=False)

    refused = post(kind="scan_failed", id=str(failed), action="acknowledge")
    assert refused.status_code == 409 and "needs a reason" in refused.text
    assert (
        post(
            kind="scan_failed", id=str(failed), action="acknowledge", reason="deadline too short"
        ).status_code
        == 303
    )
    assert audit(app, "trouble_acknowledged") == [("alice", "deadline too short")]
    page = client.get("/trouble").text
    row = page[page.index(f'data-trouble="scan_failed:{failed}"') :]
    assert row.index("acknowledged") < row.index("</tr>")
    # the skymap step again (`skymist scans localize`): it succeeds, the hand-off leaves the record
    assert (
        post(kind="handoff_failed", id=str(handoff), action="retry", reason="disk freed").status_code == 303
    )
    assert f'data-trouble="handoff_failed:{handoff}"' not in client.get("/trouble").text
    assert audit(app, "handoff_retried") == [("alice", "disk freed")]
