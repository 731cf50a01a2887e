"""Messages through the inbox and handlers into the store (real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from skymist.ingest.inbox import Ingestor
from skymist.states import AlertState, InboxState, OutboxState
from skymist.store.models import Alert, AlertRevision, DeadLetter, InboxMessage, OutboxRow
from tests.helpers import envelope, raw, real_event, with_ids

SLACK = {"slack_mode": "webhook", "slack_webhook_url": "http://127.0.0.1:9/hook"}


def count(app: Any, model: Any, *where: Any) -> int:
    with app.sessions() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_envelope_records_named_alert_and_queues_three_products(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory(**SLACK)
    event = real_event(shared_dir)
    [result] = Ingestor(app).ingest_batch([raw(envelope(event))])
    assert result.status == "processed" and result.outbox_rows == 3
    with app.sessions() as session:
        alert = session.execute(select(Alert)).scalar_one()
        assert alert.name == "IceCube-220524A"
        assert alert.stream == "BRONZE" and alert.state == AlertState.PROMPT_QUEUED
        [rev] = alert.revisions
        assert abs(rev.ra_deg - 48.8497) < 0.02 and abs(rev.dec_deg + 3.5219) < 0.02
        # no radii given: derived as GCN does (below the floor: 12.00' / 30.80')
        assert (
            rev.errors_derived
            and round(rev.err90_deg * 60, 2) == 30.80
            and round(rev.err50_deg * 60, 2) == 12.0
        )
        products = sorted(row.product for row in session.execute(select(OutboxRow)).scalars())
        assert products == ["notice_json", "slack_alert", "voevent"]


def test_names_follow_the_order_of_the_utc_day(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory()
    event = real_event(shared_dir)
    messages = [
        envelope(with_ids(event, 140001, 1, "2026-01-05 01:00:00.000000")),
        envelope(with_ids(event, 140001, 2, "2026-01-05 23:59:59.000000")),
        envelope(with_ids(event, 140002, 3, "2026-01-06 00:00:01.000000")),
        envelope(with_ids(event, 140001, 4, "2026-01-05 12:00:00.000000")),
    ]
    Ingestor(app).ingest_batch([raw(m) for m in messages])
    with app.sessions() as session:
        names = dict(session.execute(select(Alert.event_id, Alert.name)).all())
    assert names == {1: "IceCube-260105A", 2: "IceCube-260105B", 3: "IceCube-260106A", 4: "IceCube-260105C"}


def test_duplicates_are_counted_and_ignored(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory(**SLACK)
    message = envelope(real_event(shared_dir))
    ingestor = Ingestor(app)
    first = raw(message)
    assert ingestor.ingest_batch([first])[0].status == "processed"
    # the same Kafka message again (redelivery after a crash) and the same content at a new offset
    results = ingestor.ingest_batch([first, raw(message)])
    assert [r.status for r in results] == ["redelivered", "duplicate"]
    assert "already recorded" in results[1].summary
    assert count(app, Alert) == 1 and count(app, OutboxRow) == 3
    assert count(app, InboxMessage, InboxMessage.state == InboxState.DUPLICATE) == 1
    assert app.metrics.snapshot() == {
        "messages_processed": 1,
        "messages_redelivered": 1,
        "messages_duplicate": 1,
    }


def test_bare_event_then_classification(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory(**SLACK)
    event = real_event(shared_dir)
    ingestor = Ingestor(app)
    assert ingestor.ingest_batch([raw(event)])[0].summary.startswith("recorded unclassified")
    with app.sessions() as session:
        alert = session.execute(select(Alert)).scalar_one()
        assert alert.name is None and alert.stream == "UNCLASSIFIED" and alert.state == AlertState.RECORDED
    assert count(app, OutboxRow) == 0  # unclassified: no public products
    result = ingestor.ingest_batch([raw(envelope(event, stream="GOLD", err50_deg=0.2, err90_deg=0.51))])[0]
    assert result.status == "processed" and result.outbox_rows == 3
    with app.sessions() as session:
        alert = session.execute(select(Alert)).scalar_one()
        assert alert.name == "IceCube-220524A" and alert.stream == "GOLD"
        rev = session.execute(select(AlertRevision)).scalar_one()
        assert (rev.err50_deg, rev.err90_deg, rev.errors_derived) == (0.2, 0.51, False)


def test_bad_messages_land_in_dead_letters_and_the_batch_goes_on(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory()
    event = real_event(shared_dir)
    bad_type = with_ids(event, 1, 2)
    bad_type["value"]["data"]["run_id"] = "abc"
    good = envelope(with_ids(event, 140010, 77))
    batch = [
        raw(b"{not json"),
        raw(b'{"value": {"data": {"run_id": 1'),  # truncated
        raw(bad_type),
        raw(good),
        raw({"alert": {"stream": "BRONZE"}, "event": event}),
        raw(b"x" * 2_100_000),  # oversized
    ]
    results = Ingestor(app).ingest_batch(batch)
    assert [r.status for r in results] == ["dead_letter"] * 3 + ["processed"] + ["dead_letter"] * 2
    with app.sessions() as session:
        letters = list(session.execute(select(DeadLetter).order_by(DeadLetter.id)).scalars())
    assert [letter.raw for letter in letters] == [m.value for i, m in enumerate(batch) if i != 3]
    reasons = [letter.reason for letter in letters]
    assert "not valid JSON" in reasons[0]
    assert "truncated" in reasons[1]
    assert reasons[2].startswith("value.data.run_id:") and "'abc'" in reasons[2]
    assert reasons[3].startswith("alert.signalness: required field is missing")
    assert "larger than the limit" in reasons[4]
    assert count(app, Alert) == 1


def test_gcn_notice_is_mirrored_and_a_retraction_cancels_pending_products(
    app_factory: Any, shared_dir: Path
) -> None:
    app = app_factory(**SLACK)
    ingestor = Ingestor(app)
    ingestor.ingest_batch([raw(envelope(real_event(shared_dir)))])
    notice = {
        "mission": "IceCube",
        "record_number": 0,
        "id": ["136662_35405932"],
        "alert_type": "retraction",
        "event_name": ["IceCube-220524A"],
        "ra": 48.85,
        "dec": -3.52,
        "trigger_time": "2022-05-24T07:41:32.185352Z",
        "pipeline": "Bronze Track Alert",
    }
    [result] = ingestor.ingest_batch([raw(notice)])
    assert result.status == "processed"
    with app.sessions() as session:
        alert = session.execute(select(Alert)).scalar_one()
        assert alert.state == AlertState.RETRACTED
        states = {row.product: row.state for row in session.execute(select(OutboxRow)).scalars()}
    assert states["notice_json"] == OutboxState.CANCELLED and states["voevent"] == OutboxState.CANCELLED
    assert states["slack_mirrored"] == OutboxState.PENDING
    # an unknown public alert is mirrored with its own name and revision
    other = {**notice, "id": ["137840_57034692"], "event_name": ["IceCube-230416A"], "alert_type": "initial"}
    assert ingestor.ingest_batch([raw(other)])[0].status == "processed"
    with app.sessions() as session:
        mirrored = session.execute(select(Alert).where(Alert.run_id == 137840)).scalar_one()
        assert (mirrored.name, mirrored.source, mirrored.state) == (
            "IceCube-230416A",
            "gcn",
            AlertState.MIRRORED,
        )


def test_dead_letter_replay_after_a_fix(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory(supported_event_versions=["2021a"])
    later = real_event(shared_dir, "run00138632-evt000031747601-BRONZE.json")  # version 2023a
    ingestor = Ingestor(app)
    assert ingestor.ingest_batch([raw(later)])[0].status == "dead_letter"
    fixed = app_factory(supported_event_versions=["2021a", "2023a"])
    with fixed.sessions() as session, session.begin():
        inbox = session.execute(select(InboxMessage)).scalar_one()
        assert Ingestor(fixed).replay_stored(session, inbox.id).status == "processed"
    with fixed.sessions() as session:
        assert session.execute(select(InboxMessage.state)).scalar_one() == InboxState.PROCESSED
    with fixed.sessions() as session:
        letter = session.execute(select(DeadLetter)).scalar_one()
        assert letter.state.value == "replayed"
    assert count(fixed, Alert) == 1


def test_a_failing_handler_costs_only_its_own_message(app_factory: Any, shared_dir: Path) -> None:
    """A batch is handled without savepoints; when a handler fails it is handled again message by
    message, so only the failing message becomes a dead letter."""
    plan = {
        "name": "og",
        "reco_algo": "online_gaussian",
        "nsides": {8: 0},
        "priority": 100,
        "max_pixel_reco_time_s": 10,
    }
    app = app_factory(scans_enabled=True, scan_plans={"GOLD": [plan], "BRONZE": [plan]})  # no CASCADE plan
    event = real_event(shared_dir)
    batch = [
        raw(envelope(with_ids(event, 140300, 1), stream="GOLD")),
        raw(envelope(with_ids(event, 140300, 2), stream="CASCADE")),
        raw(envelope(with_ids(event, 140300, 3), stream="BRONZE")),
    ]
    results = Ingestor(app).ingest_batch(batch)
    assert [r.status for r in results] == ["processed", "dead_letter", "processed"]
    assert "no reco plan for alert class 'CASCADE'" in results[1].summary
    with app.sessions() as session:
        assert sorted(session.execute(select(Alert.event_id)).scalars()) == [1, 3]
        letter = session.execute(select(DeadLetter)).scalar_one()
    assert letter.raw == batch[1].value and letter.reason.startswith("internal error")


def test_legacy_hese_message_is_dead_lettered_with_its_own_reason(app_factory: Any) -> None:
    from tests.test_parse import legacy_hese_message

    app = app_factory()
    [result] = Ingestor(app).ingest_batch([raw(legacy_hese_message())])
    assert result.status == "dead_letter"
    with app.sessions() as session:
        letter = session.execute(select(DeadLetter)).scalar_one()
    assert "HESE 2016" in letter.reason and letter.field == "value.data"
    assert "unsupported realtime message version" not in letter.reason
