"""A human approves or rejects the Circular; the real dispatcher submits it to a local stand-in of
the GCN Circulars API exactly once, or writes the ready-to-send file when submission is off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from skymist.alerts.refined import localize_alert
from skymist.circulars.approval import approve
from skymist.cli.main import main
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.queue import HELD_UNTIL
from skymist.outbox.sinks.factory import build_sinks
from skymist.states import CircularState, OutboxState
from skymist.store.models import OutboxRow
from skymist.store.product_models import AuditEntry, Circular
from tests.conftest import MockKafka
from tests.helpers import read_topic
from tests.refine.circulars_api import CircularsApiStandIn
from tests.refine.support import mark_localization_pending, outbox, record_alert
from tests.support.slack_api import SlackStandIn


def localized(app: Any, shared_dir: Path, scan: bytes) -> int:
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    assert localize_alert(app, alert_id, scan, scan_ref="scan:1:final").status == "created"
    return alert_id


def the_circular(app: Any) -> Circular:
    with app.sessions() as session:
        circular: Circular = session.execute(select(Circular)).scalar_one()
        return circular


@pytest.mark.slow
def test_approve_then_dispatch_submits_once_and_releases_held_notices(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    kafka: MockKafka,
    slack: SlackStandIn,
    gcn_circulars: CircularsApiStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(
        slack_mode="webhook",
        slack_webhook_url=f"{slack.url}/webhook/T0/B0/secret",
        data_dir=tmp_path,
        rev1_requires_approval=True,
        circulars_enabled=True,
        circulars_api_url=f"{gcn_circulars.url}/api/circulars",
        circulars_token=gcn_circulars.token,
    )
    alert_id = record_alert(app, shared_dir)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    try:
        assert dispatcher.drain(timeout_s=30).sent == 3  # the prompt notice, VOEvent and Slack message
        mark_localization_pending(app, alert_id)
        localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final")
        assert dispatcher.drain(timeout_s=30).sent == 2  # Slack: refined + awaiting approval; notices held
        held = [
            r for r in outbox(app, alert_id) if r.revision == 1 and r.product in ("notice_json", "voevent")
        ]
        assert [r.state for r in held] == [OutboxState.PENDING] * 2
        assert all(r.next_attempt_at == HELD_UNTIL for r in held)
        assert gcn_circulars.posts == []

        assert (
            main(
                [
                    "--database-url",
                    database_url,
                    "circular",
                    "approve",
                    "IceCube-220524A",
                    "--by",
                    "alice",
                    "--reason",
                    "map and text checked",
                    "--json",
                ]
            )
            == 0
        )
        decision = json.loads(capsys.readouterr().out)
        assert decision["state"] == "approved" and decision["by"] == "alice"
        assert decision["released_notices"] == 2 and decision["outbox_id"] is not None

        assert dispatcher.drain(timeout_s=30).sent == 3  # Rev 1 notice, VOEvent, the Circular
        assert dispatcher.drain(timeout_s=5).claimed == 0  # and nothing again
    finally:
        dispatcher.close()

    circular = the_circular(app)
    assert gcn_circulars.posts == [{"subject": circular.subject, "body": circular.body}]
    assert gcn_circulars.refused == 0
    assert circular.state == CircularState.SUBMITTED and circular.approved_by == "alice"
    assert circular.submitted_at is not None and circular.outbox_id == decision["outbox_id"]
    with app.sessions() as session:
        row = session.get(OutboxRow, circular.outbox_id)
        assert row is not None and row.product == "circular" and row.delivery_ref == "gcn-circular:40001"
        audit = [
            (a.actor, a.action, a.reason)
            for a in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        ]
    assert audit == [
        ("alice", "circular_approved", "map and text checked"),
        ("skymist", "circular_submitted", None),
    ]
    notices = read_topic(kafka.bootstrap, app.settings.notice_topic, expect=2)
    assert sorted(json.loads(m.value())["record_number"] for m in notices) == [0, 1]
    assert len(slack.messages) == 3
    assert any(block["type"] == "image" for m in slack.messages for block in m.get("blocks", []))

    # a second approval is refused with a clear message
    assert (
        main(["--database-url", database_url, "circular", "approve", "IceCube-220524A", "--by", "bob"]) == 2
    )
    assert "no Circular awaits approval" in capsys.readouterr().err


def test_refused_token_is_never_shown_and_nothing_is_resent(
    app_factory: Any,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    gcn_circulars: CircularsApiStandIn,
) -> None:
    secret = "wrong-token-8d1f0c"
    app = app_factory(
        data_dir=tmp_path,
        circulars_enabled=True,
        circulars_api_url=f"{gcn_circulars.url}/api/circulars",
        circulars_token=secret,
    )
    localized(app, shared_dir, real_scan_json)
    decision = approve(app, "IceCube-220524A", by="alice")
    dispatcher = Dispatcher(app, {"circulars": build_sinks(app.settings)["circulars"]})
    try:
        stats = dispatcher.drain(timeout_s=20)
    finally:
        dispatcher.close()
    assert (stats.sent, stats.dead) == (0, 1) and gcn_circulars.refused == 1 and gcn_circulars.posts == []
    with app.sessions() as session:
        row = session.get(OutboxRow, decision.outbox_id)
        assert row is not None and row.state == OutboxState.DEAD
        assert row.last_error is not None and "HTTP 403" in row.last_error and secret not in row.last_error
    assert the_circular(app).state == CircularState.APPROVED


def test_reject_cancels_held_notices_and_is_audited(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(data_dir=tmp_path, rev1_requires_approval=True)
    alert_id = localized(app, shared_dir, real_scan_json)
    argv = ["--database-url", database_url, "circular", "reject", "136662_35405932"]
    assert main([*argv, "--reason", "  the map   has a second island ", "--by", "bob"]) == 0
    assert "rejected by bob" in capsys.readouterr().out
    circular = the_circular(app)
    assert circular.state == CircularState.REJECTED and circular.rejected_by == "bob"
    assert circular.state_reason == "the map has a second island" and circular.outbox_id is None
    cancelled = [r for r in outbox(app, alert_id) if r.revision == 1]
    assert [(r.product, r.state) for r in cancelled] == [
        ("notice_json", OutboxState.CANCELLED),
        ("voevent", OutboxState.CANCELLED),
    ]
    assert all("rejected by bob" in (r.last_error or "") for r in cancelled)

    assert main(["--database-url", database_url, "circular", "show", "IceCube-220524A", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert [c["state"] for c in view["circulars"]] == ["rejected"]
    assert [(a["actor"], a["action"], a["reason"]) for a in view["audit"]] == [
        ("bob", "circular_rejected", "the map has a second island")
    ]
    assert (
        main(["--database-url", database_url, "circular", "approve", "IceCube-220524A", "--by", "bob"]) == 2
    )
    assert "(latest: draft" in capsys.readouterr().err
    assert main(["--database-url", database_url, "circular", "show", "IceCube-220524A"]) == 0
    shown = capsys.readouterr().out
    assert "rejected" in shown and "RA: 47.20 (+4.75, -2.46 deg 90% PSF containment) J2000" in shown


def test_submission_off_writes_the_ready_to_send_file(
    app_factory: Any,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(data_dir=tmp_path)  # circulars_enabled is off by default
    localized(app, shared_dir, real_scan_json)
    monkeypatch.setenv("USER", "carol")
    decision = approve(app, "IceCube-220524A")  # --by defaults to $USER
    assert decision.by == "carol" and decision.released_notices == 0
    dispatcher = Dispatcher(app, {"circulars": build_sinks(app.settings)["circulars"]})
    try:
        assert dispatcher.drain(timeout_s=20).sent == 1
        assert dispatcher.drain(timeout_s=5).claimed == 0
    finally:
        dispatcher.close()
    path = tmp_path / "circulars" / "IceCube-220524A.txt"
    circular = the_circular(app)
    assert path.read_text() == f"SUBJECT: {circular.subject}\n\n{circular.body}\n"
    assert circular.state == CircularState.SUBMITTED and circular.approved_by == "carol"
    with app.sessions() as session:
        row = session.get(OutboxRow, circular.outbox_id)
        assert row is not None and row.delivery_ref == f"file:{path}"
