"""Hostile names and ids from outside (issue 20): a mirrored GCN notice's ``event_name`` is data, never a
name, a path or published text until it is a public alert name ``IceCube-YYMMDD`` + capital letters.

A notice that breaks the pattern is a dead letter naming the field and the value (the choice and why:
:meth:`skymist.ingest.messages.GcnNotice._name_fits`). The realtime alert of the same event is then
named by SkyMist, published, archived and can be retracted; nothing outside the data directory is
created or removed. Real PostgreSQL, the Kafka protocol (librdkafka's mock cluster), HTTP (a Slack
stand-in) and the real CLI.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from skymist.archive.site import write_site
from skymist.cli.main import main
from skymist.ingest.inbox import Ingestor
from skymist.ingest.parse import InputError, parse_message
from skymist.store.models import Alert, DeadLetter
from skymist.store.product_models import Circular, CircularKind
from tests.archive.support import drain
from tests.conftest import MockKafka
from tests.helpers import envelope, raw, read_topic, real_event, with_ids
from tests.support.slack_api import SlackStandIn

PUBLIC_NAME = re.compile(r"IceCube-[0-9]{6}[A-Z]+", re.ASCII)
TRIGGER = "2022-05-24T07:41:32.185352Z"  # the real event's time (IceCube-220524A)
RUN = 140_700
VERSIONS = ["2021a", "2023a", "2024a"]


@pytest.fixture
def place() -> Iterator[Path]:
    """A short folder under /tmp (an absolute name that points into it fits the store's 32 characters)
    holding the data directory and, beside it, a victim folder with planted files."""
    base = Path(tempfile.mkdtemp(prefix="hn", dir="/tmp"))
    victim = base / "victim"
    (victim / "sub").mkdir(parents=True)
    for index, rel in enumerate(["a.txt", "b.json", "sub/c.bin", "ro-crate-metadata.json", "bagit.txt"]):
        (victim / rel).write_bytes(f"planted {index}\n".encode())
    (base / "data").mkdir()
    yield base
    shutil.rmtree(base, ignore_errors=True)


def hostile_names(base: Path) -> dict[str, str]:
    """Names a hostile or broken sender could offer (all but the 10 kB one fit the store's column)."""
    names = {
        "relative traversal": "../../victim",
        "traversal behind a valid name": "IceCube-220524A/../../../victim",
        "absolute path": str(base / "victim"),
        "windows traversal": "..\\..\\victim",
        "NUL": "IceCube-220524A\x00/../x",
        "markup": "IceCube-220524A<b>&",
        "10 kB": "IceCube-220524" + "A" * 10_000,
        "non-ASCII letter": "IceCube-220524Ä",
        "non-ASCII digits": "IceCube-２２０５２４A",
    }
    assert len(names["absolute path"]) <= 32, names["absolute path"]
    return names


def gcn_notice(event_id: int, name: str) -> dict[str, Any]:
    return {
        "mission": "IceCube",
        "instrument": "IC86",
        "pipeline": "Bronze Track Alert",
        "record_number": 0,
        "event_name": [name],
        "id": [f"{RUN}_{event_id}"],
        "alert_type": "initial",
        "ra": 48.85,
        "dec": -3.52,
        "ra_dec_error": 0.6,
        "trigger_time": TRIGGER,
    }


def listing(base: Path) -> dict[str, bytes]:
    """Every file and folder under ``base`` outside its data directory, with the files' bytes."""
    out: dict[str, bytes] = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if rel.parts[0] == "data":
            continue
        out[str(rel)] = path.read_bytes() if path.is_file() and not path.is_symlink() else b"<folder>"
    return out


def published_forms(name: str) -> list[bytes]:
    """How a name would appear in a JSON, XML or Slack payload (raw, JSON-escaped, HTML-escaped)."""
    forms = {name, json.dumps(name)[1:-1], name.replace("&", "&amp;").replace("<", "&lt;")}
    return [form.encode() for form in forms if form]


@pytest.mark.slow
def test_hostile_mirrored_names_are_never_names_paths_or_published(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    place: Path,
    kafka: MockKafka,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(
        data_dir=place / "data",
        slack_mode="webhook",
        slack_webhook_url=f"{slack.url}/webhook/T0/B0/secret",
    )
    names = hostile_names(place)
    before = listing(place)
    event = real_event(shared_dir)
    ingestor = Ingestor(app)

    ids: dict[str, int] = {}
    for event_id, (case, name) in enumerate(names.items(), start=1):
        [mirrored] = ingestor.ingest_batch([raw(gcn_notice(event_id, name))])
        assert mirrored.status == "dead_letter", f"{case}: {mirrored.summary}"
        [alert] = ingestor.ingest_batch([raw(envelope(with_ids(event, RUN, event_id)))])
        assert alert.status == "processed", f"{case}: {alert.summary}"
        ids[case] = event_id
    with app.sessions() as session:
        letters = list(session.execute(select(DeadLetter).order_by(DeadLetter.id)).scalars())
        alerts = {a.event_id: a for a in session.execute(select(Alert)).scalars()}
    assert len(letters) == len(names)
    for letter, (case, name) in zip(letters, names.items(), strict=True):
        assert letter.field is not None and letter.field.startswith("event_name"), (case, letter.field)
        assert letter.raw == json.dumps(gcn_notice(ids[case], name)).encode(), case
        print(f"{case}: {letter.field}: {letter.reason[:160]}")
    for case, event_id in ids.items():
        alert = alerts[event_id]
        assert alert.name is not None and PUBLIC_NAME.fullmatch(alert.name), (case, alert.name)
        assert alert.source == "realtime"

    drain(app)  # Rev 0 notices, VOEvents and Slack messages sent; archive records written
    site = write_site(app.settings, app.sessions)
    assert site.refused == []
    for alert in alerts.values():
        assert alert.name is not None
        assert (app.settings.archive_root / alert.name / "data" / "record.json").is_file()
        assert (app.settings.archive_root / f"{alert.name}.html").is_file()

    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    monkeypatch.setenv("SKYMIST_NOTICE_TOPIC", app.settings.notice_topic)
    monkeypatch.setenv("SKYMIST_VOEVENT_TOPIC", app.settings.voevent_topic)
    monkeypatch.setenv("SKYMIST_ALERT_TENSE", "test")
    monkeypatch.setenv("SKYMIST_SLACK_MODE", "off")
    capsys.readouterr()
    for case, event_id in ids.items():
        alert_id = str(alerts[event_id].id)
        argv = ["--database-url", database_url, "retract", alert_id, "--by", "dana", "--json"]
        code = main([*argv, "--reason", "A hostile name test, not a neutrino."])
        out, err = capsys.readouterr()
        assert code == 0, f"{case}: {err}"
        outcome = json.loads(out)
        assert outcome["public"] is True and outcome["circular_id"] is not None, (case, outcome)
    with app.sessions() as session:
        drafts = list(
            session.execute(select(Circular).where(Circular.kind == CircularKind.RETRACTION)).scalars()
        )
    assert sorted(PUBLIC_NAME.match(d.subject) is not None for d in drafts) == [True] * len(names)
    drain(app)  # the retraction notices and VOEvents

    assert listing(place) == before  # nothing outside the data directory made, changed or removed
    notices = read_topic(kafka.bootstrap, app.settings.notice_topic, expect=2 * len(names))
    voevents = read_topic(kafka.bootstrap, app.settings.voevent_topic, expect=2 * len(names))
    assert len(notices) == len(voevents) == 2 * len(names)
    for message in notices:
        [name] = json.loads(message.value())["event_name"]
        assert PUBLIC_NAME.fullmatch(name), name
    told = [json.dumps(m).encode() for m in slack.messages]
    # shifters are told of the dead letters (one report each, or a digest when Slack is paced)
    reports = [m for m in told if b"dead-lettered" in m or b"dead letters" in m]
    assert reports
    for case, name in names.items():
        for form in published_forms(name):
            for message in [*(n.value() for n in notices), *(v.value() for v in voevents)]:
                assert form not in message, (case, message[:200])
            for message in told:
                if message not in reports:  # a dead-letter report quotes the value as data
                    assert form not in message, (case, message[:200])
    for message in reports:
        assert b"<b>" not in message  # quoted values are escaped for Slack


@pytest.mark.parametrize(
    ("case", "fields", "field", "words"),
    [
        ("no calendar date", {"event_name": ["IceCube-221399A"]}, "event_name", "no calendar date"),
        ("lower-case letter", {"event_name": ["IceCube-220524a"]}, "event_name", "not a public alert name"),
        ("space in the name", {"event_name": "IceCube 220524A"}, "event_name", "not a public alert name"),
        ("second name", {"event_name": ["IceCube-220524A", "../x"]}, "event_name", "'../x'"),
        ("second id", {"id": ["140700_1", "140700_../1"]}, "id", "'140700_../1'"),
    ],
)
def test_names_and_ids_of_a_notice_are_checked_against_their_pattern(
    case: str, fields: dict[str, Any], field: str, words: str
) -> None:
    document = {**gcn_notice(1, "IceCube-220524A"), **fields}
    with pytest.raises(InputError) as caught:
        parse_message(json.dumps(document).encode(), supported_versions=VERSIONS, max_bytes=2_000_000)
    assert caught.value.field is not None and caught.value.field.startswith(field), caught.value
    assert words in caught.value.reason, caught.value.reason
    valid = {**gcn_notice(7, "IceCube-220524AB"), "id": ["140700_7", "140700_7"]}  # the same, valid
    notice = parse_message(json.dumps(valid).encode(), supported_versions=VERSIONS, max_bytes=2_000_000)
    assert notice.run_event == (140_700, 7)  # type: ignore[union-attr]


def test_a_heartbeat_alert_can_be_retracted(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    kafka: MockKafka,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SkyMist names its synthetic heartbeats ``heartbeat-<event id>``: published (test notices), they
    are retracted with their retraction notices and no Circular (a Circular needs a public name)."""
    app = app_factory(data_dir=tmp_path)
    beat = envelope(with_ids(real_event(shared_dir), app.settings.heartbeat_run_id, 42))
    [result] = Ingestor(app).ingest_batch([raw(beat)])
    assert result.status == "processed", result.summary
    drain(app)
    with app.sessions() as session:
        alert = session.execute(select(Alert)).scalar_one()
    assert alert.name == "heartbeat-42"
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SKYMIST_SLACK_MODE", "off")
    capsys.readouterr()
    argv = ["--database-url", database_url, "retract", "heartbeat-42", "--by", "dana", "--json"]
    assert main([*argv, "--reason", "Retracting a heartbeat."]) == 0, capsys.readouterr().err
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["public"] is True and outcome["circular_id"] is None
    assert "retraction_notice_json" in outcome["queued_products"]
