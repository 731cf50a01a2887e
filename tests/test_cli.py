"""The admin CLI as an operator uses it (in-process ``main`` with real PostgreSQL and Kafka)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skymist.cli.main import main
from skymist.runtime.simulate import alert_batch
from tests.conftest import MockKafka

PUBLISHED_REV0 = {(136662, 35405932): (48.8497, -3.5219), (138632, 31747601): (138.6545, 0.1418)}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_replay_real_events_reproduces_published_rev0(
    database_url: str, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(str(p) for p in (shared_dir / "data" / "real").glob("*.json"))
    first = run_json(capsys, "--database-url", database_url, "replay", *files, "--json")
    assert first["counts"] == {"processed": 2}
    listing = run_json(capsys, "--database-url", database_url, "alerts", "list", "--json")
    assert listing["count"] == 2
    for alert in listing["alerts"]:
        ra, dec = PUBLISHED_REV0[(alert["run_id"], alert["event_id"])]
        rev0 = alert["revisions"][0]
        assert abs(rev0["ra_deg"] - ra) < 0.02 and abs(rev0["dec_deg"] - dec) < 0.02
        assert alert["stream"] == "UNCLASSIFIED" and alert["name"] is None
    again = run_json(capsys, "--database-url", database_url, "replay", *files, "--json")
    assert again["counts"] == {"redelivered": 2}  # idempotent
    shown = run_json(capsys, "--database-url", database_url, "alerts", "show", "136662_35405932", "--json")
    assert shown["revisions"][0]["details"]["online_fit"]["name"] == "splinempe"


def test_bad_file_is_dead_lettered_and_replayed_after_a_fix(
    database_url: str, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = json.loads((shared_dir / "data/real/run00138632-evt000031747601-BRONZE.json").read_text())
    event["value"]["version"] = "2025x"
    path = tmp_path / "new-version.json"
    path.write_text(json.dumps(event))
    assert main(["--database-url", database_url, "replay", str(path)]) == 1  # a dead letter: exit 1
    capsys.readouterr()
    letters = run_json(capsys, "--database-url", database_url, "dead-letter", "list", "--json")
    [letter] = letters["dead_letters"]
    assert letter["field"] == "value.version" and "'2025x'" in letter["reason"]
    assert letter["bytes"] == path.stat().st_size
    # the operator adds the new version to the settings and replays the dead letter
    import os

    os.environ["SKYMIST_SUPPORTED_EVENT_VERSIONS"] = "2021a,2023a,2024a,2025x"
    try:
        assert main(["--database-url", database_url, "dead-letter", "replay", str(letter["id"])]) == 0
    finally:
        del os.environ["SKYMIST_SUPPORTED_EVENT_VERSIONS"]
    capsys.readouterr()
    assert run_json(capsys, "--database-url", database_url, "dead-letter", "list", "--json")["count"] == 0
    assert run_json(capsys, "--database-url", database_url, "alerts", "list", "--json")["count"] == 1


@pytest.mark.slow
def test_replay_topic_from_offset_and_send(
    database_url: str,
    kafka: MockKafka,
    topic: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    producer = kafka.producer()
    for _alert, value in alert_batch(6, seed=21, size_bytes=5_000):
        producer.produce(topic, value, partition=0)
    producer.flush(10)
    monkeypatch.setenv("SKYMIST_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap)
    monkeypatch.setenv("SKYMIST_NOTICE_TOPIC", f"notices-{topic}")
    monkeypatch.setenv("SKYMIST_VOEVENT_TOPIC", f"voevents-{topic}")
    monkeypatch.setenv("SKYMIST_SLACK_MODE", "off")
    base = ["--database-url", database_url, "replay", "--topic", topic, "--partition", "0", "--json"]
    result = run_json(capsys, *base, "--from-offset", "4", "--send")
    assert result["counts"] == {"processed": 2} and result["sent"] == 4
    result = run_json(capsys, *base, "--from-offset", "0")
    assert result["counts"] == {"processed": 4, "redelivered": 2}
    listing = run_json(capsys, "--database-url", database_url, "alerts", "list", "--json")
    assert listing["count"] == 6


def test_errors_are_one_clear_line_without_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--database-url", "postgresql+psycopg://bob:hunter2@127.0.0.1:1/x", "alerts", "list"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("skymist: error: cannot use the store") and "hunter2" not in err
    monkeypatch.setenv("SKYMIST_SLACK_MODE", "carrier-pigeon")
    assert main(["alerts", "list"]) == 2
    assert "setting slack_mode" in capsys.readouterr().err
    assert main(["--config", "/nonexistent/skymist.toml", "alerts", "list"]) == 2
    assert "'/nonexistent/skymist.toml' does not exist" in capsys.readouterr().err


def test_config_documents_every_setting_and_masks_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = tmp_path / "skymist.toml"
    toml.write_text('kafka_group_id = "from-toml"\nalert_tense = "archival"\n')
    monkeypatch.setenv("SKYMIST_ALERT_TENSE", "test")  # the environment beats the file
    monkeypatch.setenv("SKYMIST_SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SKYMIST_DATABASE_URL", "postgresql+psycopg://bob:hunter2@db/skymist")
    rows = run_json(capsys, "--config", str(toml), "config", "--json")
    values = {row["name"]: row["value"] for row in rows}
    assert values["kafka_group_id"] == "'from-toml'" and values["alert_tense"] == "'test'"
    assert all(row["doc"] for row in rows)
    text = json.dumps(rows)
    assert "xoxb-very-secret" not in text and "hunter2" not in text
    assert values["database_url"] == "'postgresql+psycopg://bob:***@db/skymist'"
