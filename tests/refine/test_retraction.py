"""Retracting an alert stops every pending product, queues the retraction notice, VOEvent, Slack
message and Circular draft, and the dispatcher sends only those."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from skymist.alerts.refined import localize_alert
from skymist.alerts.retraction import RetractionError, retract
from skymist.circulars.approval import approve
from skymist.cli.main import main
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.states import AlertState, CircularState, OutboxState
from skymist.store.models import Alert
from skymist.store.product_models import AuditEntry, Circular, CircularKind
from tests.conftest import MockKafka
from tests.helpers import read_topic
from tests.refine.support import mark_localization_pending, outbox, products, record_alert
from tests.support.gcn_schema import notice_validator
from tests.support.slack_api import SlackStandIn

REASON = "IceTop saw a coincident air shower: a muon bundle, not a neutrino."


@pytest.mark.slow
def test_retraction_stops_pending_products_and_queues_its_own(
    app_factory: Any,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    kafka: MockKafka,
    slack: SlackStandIn,
) -> None:
    app = app_factory(
        slack_mode="webhook",
        slack_webhook_url=f"{slack.url}/webhook/T0/B0/secret",
        data_dir=tmp_path,
        rev1_requires_approval=True,
    )
    alert_id = record_alert(app, shared_dir)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    try:
        assert dispatcher.drain(timeout_s=30).sent == 3  # Rev 0 is public
        mark_localization_pending(app, alert_id)
        localized = localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final")
        assert localized.notices_held  # Rev 1 notice/VOEvent held, Slack rows pending

        outcome = retract(app, "IceCube-220524A", REASON, by="bob")

        assert outcome.public and outcome.record_number == 2 and outcome.cites_revision == 0
        assert outcome.superseded_circulars == (localized.circular_id,)
        assert outcome.cancelled_rows == 4  # Rev 1 notice + VOEvent (held), Slack refined + circular
        rows = outbox(app, alert_id)
        assert products(rows, OutboxState.CANCELLED) == [
            ("notice_json", 1),
            ("slack_circular", 1),
            ("slack_refined", 1),
            ("voevent", 1),
        ]
        assert products(rows, OutboxState.PENDING) == [
            ("retraction_notice_json", 2),
            ("retraction_voevent", 2),
            ("slack_retraction", 2),
        ]
        with app.sessions() as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None and alert.state == AlertState.RETRACTED
            circulars = {c.kind: c for c in session.execute(select(Circular)).scalars()}
            [entry] = session.execute(select(AuditEntry)).scalars()
        assert circulars[CircularKind.TRACK].state == CircularState.SUPERSEDED
        retraction = circulars[CircularKind.RETRACTION]
        assert retraction.state == CircularState.AWAITING_APPROVAL and retraction.id == outcome.circular_id
        assert retraction.subject.startswith("IceCube-220524A: Retraction")
        assert REASON in retraction.body.splitlines()  # the operator's reason, its own paragraph
        assert (entry.actor, entry.action, entry.reason) == ("bob", "alert_retracted", REASON)

        notice = json.loads(next(r.payload for r in rows if r.product == "retraction_notice_json"))
        validator, _ = notice_validator()
        assert not [e.message for e in validator.iter_errors(notice)]
        assert (notice["alert_type"], notice["record_number"]) == ("retraction", 2)
        voevent = ElementTree.fromstring(next(r.payload for r in rows if r.product == "retraction_voevent"))
        group = voevent.find("What/Group[@name='Trigger_ID']")
        assert group is not None
        assert {p.get("name"): p.get("value") for p in group}["Retraction"] == "true"
        cite = voevent.find("Citations/EventIVORN")
        assert cite is not None and cite.get("cite") == "retraction" and (cite.text or "").endswith("_0")

        assert dispatcher.drain(timeout_s=30).sent == 3  # only the retraction products go out
    finally:
        dispatcher.close()
    notices = read_topic(kafka.bootstrap, app.settings.notice_topic, expect=2)
    assert sorted(json.loads(m.value())["alert_type"] for m in notices) == ["initial", "retraction"]
    assert "retracted by bob" in slack.messages[-1]["text"]
    with pytest.raises(RetractionError, match="already retracted"):
        retract(app, alert_id, "again", by="bob")


def test_retracting_an_unpublished_alert_publishes_nothing(
    app_factory: Any, database_url: str, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory()
    alert_id = record_alert(app, shared_dir)  # Rev 0 queued, never sent
    argv = ["--database-url", database_url, "retract", "IceCube-220524A", "--by", "dana", "--json"]
    assert main([*argv, "--reason", "Test alert injected by mistake."]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["public"] is False and outcome["record_number"] is None and outcome["circular_id"] is None
    # the CLI's settings tell Slack (console by default); nothing public is queued
    assert outcome["cancelled_rows"] == 2 and outcome["queued_products"] == ["slack_retraction"]
    assert products(outbox(app, alert_id), OutboxState.PENDING) == [("slack_retraction", None)]
    assert main([*argv, "--reason", "again"]) == 2
    assert "already retracted" in capsys.readouterr().err
    assert (
        main(["--database-url", database_url, "retract", "IceCube-990101Z", "--reason", "x", "--by", "d"])
        == 2
    )
    assert "no such alert" in capsys.readouterr().err


def test_reason_must_be_plain_text(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory()
    record_alert(app, shared_dir)
    with pytest.raises(ValueError, match="reason: character '°' is not plain ASCII"):
        retract(app, "IceCube-220524A", "pointing off by 3°", by="dana")
    with pytest.raises(ValueError, match="reason = '  ': must not be empty"):
        retract(app, "IceCube-220524A", "  ", by="dana")
    with app.sessions() as session:
        assert session.execute(select(Alert.state)).scalar_one() == AlertState.PROMPT_QUEUED


def test_approved_retraction_circular_is_written_out(
    app_factory: Any, shared_dir: Path, tmp_path: Path, kafka: MockKafka
) -> None:
    app = app_factory(data_dir=tmp_path)
    record_alert(app, shared_dir)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    try:
        assert dispatcher.drain(timeout_s=30).sent == 2  # Rev 0 notice and VOEvent (Slack off)
        outcome = retract(app, "IceCube-220524A", REASON, by="bob")
        assert outcome.public and outcome.circular_id is not None
        decision = approve(app, "IceCube-220524A", by="erin")
        assert decision.kind == "retraction" and decision.circular_id == outcome.circular_id
        assert dispatcher.drain(timeout_s=30).sent == 3  # retraction notice, VOEvent, Circular file
    finally:
        dispatcher.close()
    text = (tmp_path / "circulars" / "IceCube-220524A_retraction.txt").read_text()
    assert text.startswith("SUBJECT: IceCube-220524A: Retraction") and REASON in text
    with app.sessions() as session:
        circular = session.get(Circular, outcome.circular_id)
        assert circular is not None and circular.state == CircularState.SUBMITTED


@pytest.mark.slow
def test_a_retraction_stops_an_approved_circular_not_yet_sent(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes, kafka: MockKafka
) -> None:
    app = app_factory(data_dir=tmp_path)
    alert_id = record_alert(app, shared_dir)
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    try:
        assert dispatcher.drain(timeout_s=30).sent == 2  # Rev 0 notice and VOEvent
        mark_localization_pending(app, alert_id)
        localized = localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final")
        approve(app, "IceCube-220524A", by="erin")  # approved, its submission still queued
        outcome = retract(app, "IceCube-220524A", REASON, by="bob")
        assert localized.circular_id in outcome.superseded_circulars
        dispatcher.drain(timeout_s=30)
    finally:
        dispatcher.close()
    with app.sessions() as session:
        track = session.get(Circular, localized.circular_id)
        assert track is not None and track.state == CircularState.SUPERSEDED
    rows = outbox(app, alert_id)
    assert [r.state for r in rows if r.product == "circular"] == [OutboxState.CANCELLED]
    assert not list((tmp_path / "circulars").glob("IceCube-220524A.txt"))  # never written out
