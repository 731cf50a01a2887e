"""The console over HTTP (FastAPI's test client) on real PostgreSQL and IceCube-220524A's real scan:
login, the session cookie, CSRF, the observer role, and each action through its confirmation step
with the CLI's rules and an audit entry; the exact bytes of a product; the Slack link to the page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from skymist.app import App
from skymist.console.app import create_console
from skymist.console.sessions import COOKIE
from skymist.outbox.queue import HELD_UNTIL
from skymist.states import AlertState, CircularState, OutboxState
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import AuditEntry, Circular, Localization
from tests.conftest import MockKafka
from tests.console.localized_store import BASE, PASSWORDS, LocalizedTemplate, localized_copy

#: the worker's first console test localizes the real 8/64/512 scan (seconds); the others copy it
pytestmark = pytest.mark.slow


@pytest.fixture
def localized(
    localized_template: LocalizedTemplate, kafka: MockKafka, tmp_path: Path
) -> Iterator[tuple[App, int]]:
    """IceCube-220524A localized from its real scan (a reconstruction), Rev 1 held for approval: this
    test's own copy of the worker's localized database and data folder
    (:mod:`tests.console.localized_store`)."""
    with localized_copy(localized_template, kafka, tmp_path) as app_and_alert:
        yield app_and_alert


@pytest.fixture
def client(localized: tuple[App, int]) -> Iterator[TestClient]:
    with TestClient(create_console(localized[0]), base_url="http://console.test") as test_client:
        yield test_client


def log_in(client: TestClient, name: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": name, "password": PASSWORDS[name], "next": "/alerts"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/alerts")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    return csrf.group(1)


def act(client: TestClient, alert_id: int, action: str, csrf: str, **fields: Any) -> Any:
    """The review step, then the confirmation; returns the final answer."""
    review = client.post(
        f"/alerts/{alert_id}/act/{action}", data={"csrf_token": csrf, "step": "review", **fields}
    )
    assert review.status_code == 200, review.text
    assert "Please confirm" in review.text
    return client.post(
        f"/alerts/{alert_id}/act/{action}",
        data={"csrf_token": csrf, "step": "confirm", **fields},
        follow_redirects=False,
    )


def audit(app: App, action: str) -> list[tuple[str, str | None]]:
    with app.sessions() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars()
        return [(row.actor, row.reason) for row in rows]


def test_pages_need_a_login_and_a_wrong_password_or_forged_cookie_gets_none(client: TestClient) -> None:
    answer = client.get("/alerts/1", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/alerts/1"
    anonymous = client.post("/alerts/1/act/approve", data={"step": "confirm"}, follow_redirects=False)
    assert anonymous.status_code == 303  # no action without a logged-in user: the login page first
    assert anonymous.headers["location"] == "/login?next=/alerts/1/act/approve"
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    wrong = client.post("/login", data={"csrf_token": token.group(1), "name": "alice", "password": "nope"})
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    no_token = client.post("/login", data={"name": "alice", "password": PASSWORDS["alice"]})
    assert no_token.status_code == 403
    log_in(client, "oscar")
    session_id = client.cookies[COOKIE]
    other_id = session_id[:-1] + ("A" if session_id[-1] != "A" else "B")
    client.cookies.set(COOKIE, other_id)  # any other id is no session
    assert client.get("/alerts", follow_redirects=False).status_code == 303


def test_observer_sees_everything_but_cannot_act(client: TestClient, localized: tuple[App, int]) -> None:
    app, alert_id = localized
    csrf = log_in(client, "oscar")
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and "IceCube-220524A" in page.text and "read-only" in page.text
    assert "Approve…" not in page.text
    for action in ("approve", "retract", "release"):
        assert client.get(f"/alerts/{alert_id}/act/{action}").status_code == 403
        answer = client.post(
            f"/alerts/{alert_id}/act/{action}", data={"csrf_token": csrf, "step": "confirm", "reason": "x"}
        )
        assert answer.status_code == 403
    with app.sessions() as session:
        assert session.execute(select(Circular.state)).scalar_one() == CircularState.AWAITING_APPROVAL


def test_edit_shows_the_diff_and_saves_the_checked_text_audited(
    client: TestClient, localized: tuple[App, int]
) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    form = client.get(f"/alerts/{alert_id}/act/edit")
    with app.sessions() as session:
        draft = session.execute(select(Circular)).scalar_one()
    old_line = draft.body.splitlines()[0]
    assert old_line in form.text
    text = f"SUBJECT: {draft.subject}\n\n" + draft.body.replace(old_line, old_line + " (edited)") + "\n"
    review = client.post(
        f"/alerts/{alert_id}/act/edit", data={"csrf_token": csrf, "step": "review", "text": text}
    )
    assert '<span class="del">-' in review.text and '<span class="add">+' in review.text
    assert "(edited)" in review.text
    bad = client.post(
        f"/alerts/{alert_id}/act/edit", data={"csrf_token": csrf, "step": "review", "text": "no subject line"}
    )
    assert bad.status_code == 409 and "SUBJECT: " in bad.text  # the CLI's check: refused, nothing saved
    done = act(client, alert_id, "edit", csrf, text=text, reason="typo")
    assert done.status_code == 303
    with app.sessions() as session:
        assert session.get(Circular, draft.id).body.splitlines()[0] == old_line + " (edited)"  # type: ignore[union-attr]
    assert audit(app, "circular_edited") == [("alice", "typo")]


def test_release_of_a_held_rev1_needs_a_reason_and_is_audited(
    client: TestClient, localized: tuple[App, int]
) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    assert "Release held Rev 1" in client.get(f"/alerts/{alert_id}").text
    no_reason = client.post(f"/alerts/{alert_id}/act/release", data={"csrf_token": csrf, "step": "review"})
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.text
    done = act(client, alert_id, "release", csrf, reason="GCN asked for the refined position")
    assert done.status_code == 303
    with app.sessions() as session:
        held = OutboxRow.product.in_(["notice_json", "voevent"])
        rows = (
            session.execute(
                select(OutboxRow).where(OutboxRow.alert_id == alert_id, held, OutboxRow.revision == 1)
            )
            .scalars()
            .all()
        )
        assert len(rows) == 2 and all(r.next_attempt_at < HELD_UNTIL for r in rows)
    assert audit(app, "rev1_released") == [("alice", "GCN asked for the refined position")]
    again = client.post(
        f"/alerts/{alert_id}/act/release", data={"csrf_token": csrf, "step": "review", "reason": "x"}
    )
    assert again.status_code == 409 and "no held refined notice" in again.text


def test_cancel_and_retry_outbox_rows_as_the_cli_does(client: TestClient, localized: tuple[App, int]) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    with app.sessions() as session, session.begin():
        sent, dead = (
            session.execute(
                select(OutboxRow.id).where(OutboxRow.alert_id == alert_id).order_by(OutboxRow.id).limit(2)
            )
            .scalars()
            .all()
        )
        session.execute(update(OutboxRow).where(OutboxRow.id == sent).values(state=OutboxState.SENT))
        session.execute(update(OutboxRow).where(OutboxRow.id == dead).values(state=OutboxState.DEAD))
    refused = client.post(
        f"/alerts/{alert_id}/act/cancel",
        data={"csrf_token": csrf, "step": "review", "target": sent, "reason": "x"},
    )
    assert refused.status_code == 409 and "is sent" in refused.text  # a sent row is never cancelled
    assert act(client, alert_id, "retry", csrf, target=dead, reason="sink fixed").status_code == 303
    assert act(client, alert_id, "cancel", csrf, target=dead, reason="superseded by hand").status_code == 303
    with app.sessions() as session:
        assert session.get(OutboxRow, dead).state == OutboxState.CANCELLED  # type: ignore[union-attr]
    assert audit(app, "outbox_retried") == [("alice", "sink fixed")]
    assert audit(app, "outbox_cancelled") == [("alice", "superseded by hand")]


def test_retract_needs_a_reason_and_stops_everything(client: TestClient, localized: tuple[App, int]) -> None:
    app, alert_id = localized
    csrf = log_in(client, "alice")
    assert act(client, alert_id, "retract", csrf, reason="detector artefact").status_code == 303
    with app.sessions() as session:
        assert session.get(Alert, alert_id).state == AlertState.RETRACTED  # type: ignore[union-attr]
    assert audit(app, "alert_retracted") == [("alice", "detector artefact")]
    page = client.get(f"/alerts/{alert_id}")
    assert '<p class="flash" role="status">IceCube-220524A retracted by alice' in page.text  # shown once
    assert 'class="flash"' not in client.get(f"/alerts/{alert_id}").text


def test_the_page_serves_each_products_exact_bytes_and_the_skymap_files(
    client: TestClient, localized: tuple[App, int]
) -> None:
    app, alert_id = localized
    log_in(client, "alice")
    with app.sessions() as session:
        row = session.execute(select(OutboxRow).where(OutboxRow.product == "voevent")).scalars().first()
        assert row is not None
        payload, row_id = bytes(row.payload), row.id
    answer = client.get(f"/alerts/{alert_id}/outbox/{row_id}/bytes")
    assert answer.status_code == 200 and answer.content == payload
    assert answer.headers["content-disposition"].startswith("attachment")
    with app.sessions() as session:
        loc = session.execute(select(Localization)).scalar_one()
        png, loc_id = Path(loc.png_path).read_bytes(), loc.id
    picture = client.get(f"/alerts/{alert_id}/skymap/{loc_id}/png")
    assert picture.status_code == 200 and picture.content == png
    assert picture.headers["content-type"] == "image/png"
    assert f"/alerts/{alert_id}/skymap/{loc_id}/png" in client.get(f"/alerts/{alert_id}").text


def test_slack_messages_link_to_the_alerts_console_page(localized: tuple[App, int]) -> None:
    app, alert_id = localized
    with app.sessions() as session:
        slack = session.execute(select(OutboxRow).where(OutboxRow.product == "slack_refined")).scalar_one()
        message = json.loads(slack.payload)
    links = [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert f"<{BASE}/alerts/{alert_id}|Open in the SkyMist console>" in links


def test_the_cli_releases_a_held_rev1_with_the_same_rule(
    localized: tuple[App, int], capsys: pytest.CaptureFixture[str]
) -> None:
    from skymist.cli.main import main

    app, _alert_id = localized
    url = app.settings.database_url.get_secret_value()
    args = ["--database-url", url, "alerts", "release", "IceCube-220524A", "--by", "bob"]
    assert main([*args, "--reason", "asked by GCN"]) == 0
    assert "Rev 1 released by bob (2 notice(s)" in capsys.readouterr().out
    assert main([*args, "--reason", "again"]) == 2
    assert "has no held refined notice" in capsys.readouterr().err
    assert audit(app, "rev1_released") == [("bob", "asked by GCN")]
