"""No message can stall or vanish: values the store cannot hold, messages the store refuses at flush,
store outages, reused offsets, and loose values at the boundary (real PostgreSQL)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from skymist.ingest.inbox import Ingestor, RawMessage, StoreUnavailableError
from skymist.ingest.messages import AlertEnvelope
from skymist.ingest.parse import InputError, parse_message
from skymist.message_handlers import HandlerContext, HandlerRegistry, Outcome
from skymist.runtime.assembly import build_app
from skymist.states import ALERT_TRANSITIONS, AlertState, InboxState, OutboxState
from skymist.store.limits import store_limits
from skymist.store.models import Alert, AlertRevision, DeadLetter, InboxMessage, OutboxRow
from tests.conftest import make_settings
from tests.helpers import envelope, raw, real_event, with_ids

CONSOLE = {"slack_mode": "console"}
VERSIONS = ["2021a", "2023a", "2024a"]


def count(app: Any, model: Any, *where: Any) -> int:
    with app.sessions() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def gcn_notice(**fields: Any) -> dict[str, Any]:
    notice: dict[str, Any] = {
        "mission": "IceCube",
        "instrument": "IC86",
        "pipeline": "Gold Track Alert",
        "record_number": 0,
        "event_name": ["IceCube-230416A"],
        "id": ["137840_57034692"],
        "alert_type": "initial",
        "ra": 345.82,
        "dec": 9.01,
        "ra_dec_error": 0.6,
        "trigger_time": "2023-04-16T05:22:26.150574Z",
    }
    notice.update(fields)
    return notice


def poison_messages(event: dict[str, Any]) -> dict[str, tuple[dict[str, Any], str, str]]:
    """The nine store-poison messages of the issue: (message, field named, words of the reason)."""

    def alert(**classification: Any) -> dict[str, Any]:
        return envelope(with_ids(event, 140900, 9), **classification)

    out: dict[str, tuple[dict[str, Any], str, str]] = {}
    d = alert()
    d["x\x00"] = 1
    out["NUL in a top-level key"] = (d, "x\\x00", "holds the character \\x00")
    d = alert()
    d["event"]["value"]["data"]["note"] = "a\x00b"
    out["NUL in an extra field"] = (d, "event.value.data.note", "holds the character \\x00")
    d = alert()
    d["event"]["value"]["data"]["k" * 300] = 1
    out["extra key of 300 characters"] = (d, "event.value.data.kkkk", "dead_letters.field holds 255")
    d = alert()
    d["event"]["value"]["data"]["run_id"] = 2**63
    out["run_id 2^63"] = (d, "event.value.data.run_id", "less than 4294967296")
    out["revision 2^31"] = (alert(revision=2**31), "alert.revision", "alert_revisions.revision")
    out["GCN event_name of 44 characters"] = (
        gcn_notice(event_name=["IceCube-230416A" + "B" * 29]),
        "event_name",
        "longer than the store's alerts.name (32 at most)",
    )
    out["GCN event_name with a NUL"] = (
        gcn_notice(event_name=["IceCube-23\x000416A"]),
        "event_name.0",
        "holds the character \\x00",
    )
    out["GCN id with run 1e20"] = (
        gcn_notice(id=["100000000000000000000_57034692"]),
        "id",
        "does not fit the store's alerts.run_id",
    )
    d = alert()
    d["event"]["value"]["streams"] = ["neu\x00trino"]
    out["NUL inside a JSON column"] = (d, "event.value.streams.0", "holds the character \\x00")
    return out


POISON_NAMES = [
    "NUL in a top-level key",
    "NUL in an extra field",
    "extra key of 300 characters",
    "run_id 2^63",
    "revision 2^31",
    "GCN event_name of 44 characters",
    "GCN event_name with a NUL",
    "GCN id with run 1e20",
    "NUL inside a JSON column",
]


@pytest.mark.parametrize("case", POISON_NAMES)
def test_a_store_poison_message_is_dead_lettered_between_valid_alerts(
    app_factory: Any, shared_dir: Path, case: str
) -> None:
    app = app_factory(**CONSOLE)
    event = real_event(shared_dir)
    poison, field, words = poison_messages(event)[case]
    batch = [
        raw(envelope(with_ids(event, 140901, 1)), topic="t-poison", partition=0),
        raw(poison, topic="t-poison", partition=0),
        raw(envelope(with_ids(event, 140901, 2)), topic="t-poison", partition=0),
        raw(envelope(with_ids(event, 140901, 3)), topic="t-poison", partition=1),
    ]
    results = Ingestor(app).ingest_batch(batch)
    assert [r.status for r in results] == ["processed", "dead_letter", "processed", "processed"]
    with app.sessions() as session:
        letter = session.execute(select(DeadLetter)).scalar_one()
        assert sorted(session.execute(select(Alert.event_id)).scalars()) == [1, 2, 3]
        told = session.execute(select(OutboxRow).where(OutboxRow.product == "slack_dead_letter")).scalar_one()
    assert letter.raw == batch[1].value
    assert letter.field is not None and letter.field.startswith(field), letter.field
    assert words in letter.reason, letter.reason
    assert field.split(".")[0] in json.loads(told.payload)["text"]
    print(f"{case}: {letter.field}: {letter.reason}")


def test_store_limits_come_from_the_schema() -> None:
    limits = store_limits()
    assert (limits.run_id.low, limits.run_id.high) == (-(2**63), 2**63 - 1)  # BigInteger
    assert limits.revision.high == 2**31 - 1  # Integer
    assert limits.alert_name.max_chars == Alert.__table__.c.name.type.length == 32  # type: ignore[attr-defined]
    assert limits.dead_letter_field.max_chars == 255


def _flaky_registry(poisoned_event_id: int) -> HandlerRegistry:
    """The real handlers, except that one event's outcome carries a NUL into the inbox's detail
    column: a value no validation saw, refused by the store only when the batch is flushed."""
    from skymist.alerts.prompt import prompt_alert

    def handle(ctx: HandlerContext, message: AlertEnvelope) -> Outcome:
        outcome = prompt_alert(ctx, message)
        if message.event.event_id == poisoned_event_id:
            return Outcome(outcome.status, outcome.alert_id, outcome.revision, "bad\x00summary")
        return outcome

    registry = HandlerRegistry()
    registry.register(AlertEnvelope, handle)
    return registry


def test_a_message_the_store_refuses_at_flush_costs_only_itself(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory(**CONSOLE)
    event = real_event(shared_dir)
    batch = [raw(envelope(with_ids(event, 140902, i)), topic="t-flush", partition=i % 2) for i in range(1, 6)]
    results = Ingestor(app, _flaky_registry(poisoned_event_id=3)).ingest_batch(batch)
    assert [r.status for r in results] == ["processed", "processed", "dead_letter", "processed", "processed"]
    with app.sessions() as session:
        letter = session.execute(select(DeadLetter)).scalar_one()
        assert sorted(session.execute(select(Alert.event_id)).scalars()) == [1, 2, 4, 5]
        state = session.execute(
            select(InboxMessage.state).where(
                InboxMessage.offset == batch[2].offset, InboxMessage.topic == "t-flush"
            )
        ).scalar_one()
    assert letter.raw == batch[2].value and state == InboxState.DEAD_LETTER
    assert letter.reason.startswith("the store refused the message: DataError"), letter.reason
    assert "NUL" in letter.reason


def test_a_store_outage_dead_letters_nothing(shared_dir: Path) -> None:
    down = build_app(make_settings("postgresql+psycopg://postgres@127.0.0.1:1/skymist"))
    message = raw(envelope(real_event(shared_dir)))
    try:
        with pytest.raises(StoreUnavailableError):
            Ingestor(down).ingest_batch([message])
    finally:
        down.close()


def test_an_offset_reused_with_other_bytes_is_a_new_message(app_factory: Any, shared_dir: Path) -> None:
    """A re-created topic (or a new cluster) starts again at offset 0: new alerts are recorded."""
    app = app_factory(**CONSOLE)
    event = real_event(shared_dir)
    ingestor = Ingestor(app)
    old = [
        RawMessage("t-reuse", 0, offset, json.dumps(envelope(with_ids(event, 140903, offset))).encode())
        for offset in range(3)
    ]
    assert [r.status for r in ingestor.ingest_batch(old)] == ["processed"] * 3
    assert [r.status for r in ingestor.ingest_batch(old[:2])] == ["redelivered"] * 2
    new = [
        RawMessage("t-reuse", 0, offset, json.dumps(envelope(with_ids(event, 140904, offset))).encode())
        for offset in range(3)
    ]
    assert [r.status for r in ingestor.ingest_batch(new)] == ["processed"] * 3
    assert count(app, Alert) == 6 and count(app, InboxMessage) == 6
    assert app.metrics.snapshot()["input_offset_reused"] == 3
    with app.sessions() as session:
        [told] = session.execute(select(OutboxRow).where(OutboxRow.product == "slack_input_stream")).scalars()
    assert (
        "offsets reused" in json.loads(told.payload)["text"]
        and "t-reuse/0" in json.loads(told.payload)["text"]
    )


def test_an_envelope_after_a_mirrored_notice_takes_the_alert_over(app_factory: Any, shared_dir: Path) -> None:
    assert AlertState.PROMPT_QUEUED in ALERT_TRANSITIONS[AlertState.MIRRORED]
    app = app_factory(**CONSOLE)
    event = real_event(shared_dir)
    ingestor = Ingestor(app)
    notice = gcn_notice(
        id=["136662_35405932"],
        event_name=["IceCube-220524A"],
        trigger_time="2022-05-24T07:41:32.185352Z",
        pipeline="Bronze Track Alert",
        p_astro=0.38,
    )
    assert ingestor.ingest_batch([raw(notice)])[0].status == "processed"
    [result] = ingestor.ingest_batch([raw(envelope(event))])
    assert result.status == "processed" and "3 products" in result.summary, result.summary
    with app.sessions() as session:
        alert = session.execute(select(Alert)).scalar_one()
        revision = session.execute(select(AlertRevision)).scalar_one()
        products = sorted(
            session.execute(select(OutboxRow.product).where(OutboxRow.state == OutboxState.PENDING)).scalars()
        )
    assert (alert.name, alert.source, alert.state) == (
        "IceCube-220524A",
        "realtime",
        AlertState.PROMPT_QUEUED,
    )
    assert revision.signalness == 0.3834 and revision.energy_tev == 114.92  # the realtime values
    assert products == ["notice_json", "slack_alert", "slack_mirrored", "voevent"]


def test_a_lone_later_revision_is_dead_lettered(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory()
    [result] = Ingestor(app).ingest_batch(
        [raw(envelope(with_ids(real_event(shared_dir), 140905, 1), revision=7))]
    )
    assert result.status == "dead_letter"
    assert "revision 7 of run 140905 event 1 came before revision 6" in result.summary


def _rejected(document: Any) -> InputError:
    with pytest.raises(InputError) as info:
        parse_message(json.dumps(document).encode(), supported_versions=VERSIONS, max_bytes=2_000_000)
    return info.value


@pytest.mark.parametrize(
    ("alert", "field", "words"),
    [
        ({"energy_tev": "100"}, "alert.energy_tev", "valid number"),
        ({"energy_tev": True}, "alert.energy_tev", "valid number"),
        ({"signalness": "0.5"}, "alert.signalness", "valid number"),
        ({"revision": "0"}, "alert.revision", "valid integer"),
        ({"energy_tev": 1e308}, "alert.energy_tev", "outside the physical range"),
        ({"energy_tev": 5e-324}, "alert.energy_tev", "outside the physical range"),
        ({"far_per_year": 0}, "alert.far_per_year", "must be > 0"),
        ({"far_per_year": 1e308}, "alert.far_per_year", "must be > 0 and <= 10000"),
    ],
)
def test_loose_or_absurd_classification_is_refused(
    shared_dir: Path, alert: dict[str, Any], field: str, words: str
) -> None:
    error = _rejected(envelope(real_event(shared_dir), **alert))
    assert error.field == field and words in error.reason, str(error)


@pytest.mark.parametrize(
    ("eventtime", "words"),
    [
        (1653378092, "expected a UTC date-time text"),
        ("0001-01-01 00:00:00.000000", "outside the detector's life"),
        ("1900-05-24 07:41:32.185352", "outside the detector's life"),
        ("9999-12-31 23:59:59.999999", "outside the detector's life"),
    ],
)
def test_event_times_outside_the_detector_life_are_refused(
    shared_dir: Path, eventtime: Any, words: str
) -> None:
    event = copy.deepcopy(real_event(shared_dir))
    event["value"]["data"]["eventtime"] = eventtime
    error = _rejected(envelope(event))
    assert error.field == "event.value.data.eventtime" and words in error.reason, str(error)


def test_loose_gcn_notice_values_are_refused() -> None:
    assert _rejected(gcn_notice(record_number="1")).field == "record_number"
    assert _rejected(gcn_notice(ra="345.8")).field == "ra"
    assert _rejected(gcn_notice(trigger_time="1990-01-01T00:00:00Z")).field == "trigger_time"
    assert _rejected(gcn_notice(far=0.0)).field == "far"
    assert _rejected(gcn_notice(nu_energy=True)).field == "nu_energy"
