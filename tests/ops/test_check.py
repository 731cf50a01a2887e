"""``skymist check``: each check sees a real failure as CRITICAL (or WARNING), and OK again after the
recovery. The checks run as the command (``main``), so exit codes and output are what Nagios reads."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import literal_column, select, update

from skymist.cli.main import main
from skymist.ingest.inbox import Ingestor
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.runtime.assembly import build_app
from skymist.runtime.checks import Probe, Status, check_heartbeat, check_loopback
from skymist.runtime.daemon import Daemon
from skymist.runtime.jobs import JobName, make_jobs, standard_inputs
from skymist.runtime.shifters import tell_paced
from skymist.runtime.simulate import alert_batch
from skymist.states import HeartbeatState, OutboxState, ScanState
from skymist.store.models import InboxMessage, OutboxRow
from skymist.store.ops_models import Heartbeat
from skymist.store.scan_models import Scan
from tests.conftest import MockKafka, make_settings
from tests.helpers import envelope, raw, real_event
from tests.ops.support import BrokerProcess, TcpForwarder
from tests.scans.conftest import drive, proxy, scan_settings, skyscan
from tests.support.daemon import settings_env
from tests.support.flaky_proxy import FlakyProxy
from tests.support.skyscan_service import Service
from tests.support.slack_api import SlackStandIn

__all__ = ["proxy", "skyscan"]  # fixtures


def check(
    app: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, only: str
) -> tuple[int, dict[str, Any], str]:
    """``skymist check --only ONLY`` with exactly the app's settings: (exit code, the check, line)."""
    for name, value in settings_env(app.settings).items():
        if name.startswith("SKYMIST_"):
            monkeypatch.setenv(name, value)
    code = main(["check", "--only", only, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert main(["check", "--only", only]) == code
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith(f"SKYMIST {document['status']} - "), line
    result: dict[str, Any] = document["checks"][0]
    return code, result, line


def age(app: Any, model: Any, seconds: float, *columns: Any) -> None:
    """The times in ``columns`` of every ``model`` row moved ``seconds`` into the past: the age a
    check reads grows without the test waiting."""
    shift: Any = literal_column(f"interval '{float(seconds)} seconds'")
    with app.sessions() as session, session.begin():
        session.execute(update(model).values({column: column - shift for column in columns}))


def run_until(app: Any, jobs: list[JobName], until: Any, cap_s: float = 60.0) -> None:
    deadline = time.monotonic() + cap_s
    Daemon(app, make_jobs(jobs, standard_inputs(app))).run(
        until=lambda: until() or time.monotonic() > deadline
    )
    assert until(), "the daemon did not get there in time"


def test_store_unreachable_then_back(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = urllib.parse.urlsplit(database_url)
    with TcpForwarder(url.hostname or "127.0.0.1", url.port or 5432) as forwarder:
        via = database_url.replace(f":{url.port}/", f":{forwarder.port}/")
        app = build_app(make_settings(via))
        code, result, _ = check(app, capsys, monkeypatch, "store")
        assert (code, result["status"]) == (0, "OK")
        forwarder.stop()  # the path to PostgreSQL is gone
        code, result, line = check(app, capsys, monkeypatch, "store,outbox")
        assert code == 2 and result["status"] == "CRITICAL" and "store unreachable" in line
        assert "outbox: store unreachable" in line  # what needs the store is UNKNOWN, not a traceback
        forwarder.start()
        code, result, _ = check(app, capsys, monkeypatch, "store")
        assert (code, result["status"]) == (0, "OK")
        app.close()


@pytest.mark.slow
def test_broker_lag_and_broker_stopped(
    app_factory: Any, topic: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with BrokerProcess() as broker:
        app = app_factory(
            kafka_bootstrap_servers=broker.bootstrap,
            kafka_topics=[topic],
            check_lag_warning=2,
            check_lag_critical=5,
            readyz_timeout_s=2.0,
            kafka_session_timeout_ms=6000,
        )
        from confluent_kafka import Producer

        out = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 1})
        for _alert, value in alert_batch(6, seed=5, size_bytes=5_000):
            out.produce(topic, value, partition=0)
        out.flush(10)
        # nothing consumes: six messages behind
        code, result, line = check(app, capsys, monkeypatch, "broker")
        assert code == 2 and result["perfdata"]["lag"] == 6, line

        # the daemon consumes them
        def recorded() -> bool:
            with app.sessions() as session:
                return len(session.execute(select(InboxMessage.id)).all()) == 6

        run_until(app, [JobName.INGEST], recorded)
        code, result, line = check(app, capsys, monkeypatch, "broker")
        assert code == 0 and result["perfdata"]["lag"] == 0, line
        broker.pause()  # the broker process stops answering
        code, result, line = check(app, capsys, monkeypatch, "broker")
        assert code == 2 and "unreachable" in result["summary"], line
        broker.resume()
        code, result, line = check(app, capsys, monkeypatch, "broker")
        assert code == 0, line


def test_input_silence(
    app_factory: Any, shared_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # thresholds far beyond a slow machine's pace: the ages the check reads are moved, never waited for
    app = app_factory(check_silence_warning_s=600.0, check_silence_critical_s=1200.0)
    code, result, _ = check(app, capsys, monkeypatch, "input")
    assert code == 1 and "no input" in result["summary"]
    event = real_event(shared_dir)
    Ingestor(app).ingest_batch([raw(envelope(event))])
    assert check(app, capsys, monkeypatch, "input")[0] == 0
    age(app, InboxMessage, 1500, InboxMessage.received_at)  # the stream fell silent 25 min ago
    code, result, line = check(app, capsys, monkeypatch, "input")
    assert code == 2 and "input_silence=" in line
    Ingestor(app).ingest_batch([raw(envelope(event, stream="GOLD"))])
    assert check(app, capsys, monkeypatch, "input")[0] == 0


def test_dead_outbox_row_then_retried(
    app_factory: Any, slack: SlackStandIn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = app_factory(
        slack_mode="webhook", slack_webhook_url="http://127.0.0.1:1/webhook", outbox_max_attempts=1
    )
    assert tell_paced(broken, "test", title="t", detail="d", hint="h")
    Dispatcher(broken, build_sinks(broken.settings)).drain(timeout_s=20)
    code, result, line = check(broken, capsys, monkeypatch, "outbox")
    assert code == 2 and result["perfdata"]["outbox_dead"] == 1, line
    # the operator fixes the webhook and retries the row
    fixed = app_factory(slack_mode="webhook", slack_webhook_url=f"{slack.url}/webhook/T/B/x")
    assert (
        main(
            [
                "--database-url",
                fixed.settings.database_url.get_secret_value(),
                "outbox",
                "retry",
                "--all-dead",
            ]
        )
        == 0
    )
    Dispatcher(fixed, build_sinks(fixed.settings)).drain(timeout_s=20)
    with fixed.sessions() as session:
        assert session.execute(select(OutboxRow.state)).scalar_one() == OutboxState.SENT
    capsys.readouterr()
    code, result, line = check(fixed, capsys, monkeypatch, "outbox")
    assert code == 0, line


def test_new_dead_letters_until_acknowledged(
    app_factory: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory()
    assert check(app, capsys, monkeypatch, "dead_letters")[0] == 0
    [result] = Ingestor(app).ingest_batch([raw(b'{"alert": {"stream": "GOLD"}, "event": {}}')])
    assert result.status == "dead_letter"
    code, check_result, _ = check(app, capsys, monkeypatch, "dead_letters")
    assert code == 1 and check_result["perfdata"]["dead_letters"] == 1
    assert main(["dead-letter", "ack", "--by", "shifter"]) == 0
    capsys.readouterr()
    assert check(app, capsys, monkeypatch, "dead_letters")[0] == 0


@pytest.mark.slow
def test_scan_stuck_on_a_misbehaving_skyscan_and_scanner_down(
    app_factory: Any,
    shared_dir: Path,
    skyscan: Service,
    proxy: FlakyProxy,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = urllib.parse.urlsplit(proxy.url)
    with TcpForwarder(target.hostname or "127.0.0.1", target.port or 80) as path:
        app = app_factory(**scan_settings(f"http://127.0.0.1:{path.port}", scan_stuck_after_s=4.0))
        assert check(app, capsys, monkeypatch, "scanner")[0] == 0
        Ingestor(app).ingest_batch([raw(envelope(real_event(shared_dir)))])
        with app.sessions() as session:
            scan_id: int = session.execute(select(Scan.id)).scalar_one()

        def scan() -> Scan:
            with app.sessions() as session:
                row: Scan | None = session.get(Scan, scan_id)
                assert row is not None
                return row

        tracker = drive(app, lambda: scan().backend_scan_id is not None)
        proxy.freeze(rf"^/scan/{scan().backend_scan_id}/(status|manifest)")  # skyscan seems stuck
        # the daemon's tracker is not running here: the scan just sits, its last progress 5 s old
        age(app, Scan, 5.0, Scan.last_progress_at, Scan.submitted_at)
        code, result, line = check(app, capsys, monkeypatch, "scans")
        assert code == 2 and f"stuck: {scan_id}" in result["summary"], line
        proxy.unfreeze()
        drive(app, lambda: scan().state in (ScanState.FINAL, ScanState.FAILED), tracker=tracker)
        assert scan().state == ScanState.FINAL, scan().last_error
        assert check(app, capsys, monkeypatch, "scans")[0] == 0
        path.stop()  # the scanner backend is gone
        code, result, line = check(app, capsys, monkeypatch, "scanner")
        assert code == 2 and "unreachable" in result["summary"], line
        path.start()
        assert check(app, capsys, monkeypatch, "scanner")[0] == 0


@pytest.mark.slow
def test_heartbeat_that_never_comes_back(
    app_factory: Any,
    kafka: MockKafka,
    topic: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values: dict[str, Any] = {
        "kafka_topics": [topic],
        "heartbeat_interval_s": 1.0,
        "heartbeat_timeout_s": 2.0,
        "heartbeat_topic": f"{topic}-hb",
        "heartbeat_notice_topic": f"{topic}-hb-notices",
        "heartbeat_voevent_topic": f"{topic}-hb-voevents",
        "kafka_session_timeout_ms": 6000,
    }
    app = app_factory(**values)

    def states() -> list[HeartbeatState]:
        with app.sessions() as session:
            return list(session.execute(select(Heartbeat.state).order_by(Heartbeat.id)).scalars())

    # no dispatcher: the beats' notices are never sent, so nothing comes back
    run_until(app, [JobName.HEARTBEAT], lambda: HeartbeatState.MISSING in states())
    code, result, line = check(app, capsys, monkeypatch, "heartbeat")
    assert code == 2 and "no heartbeat was ever read back" in result["summary"]
    code, result, line = check(app, capsys, monkeypatch, "loopback")
    assert code == 2 and "missing" in result["summary"], line
    # the dispatcher runs again, and beats have time to come back however loaded the machine is (a
    # beat a second with 2 s to come back: the newest is rarely read back yet): both checks recover
    recovered = app_factory(**{**values, "heartbeat_timeout_s": 60.0})
    probe = Probe(recovered)

    def both_ok() -> bool:
        return check_heartbeat(probe).status == check_loopback(probe).status == Status.OK

    run_until(recovered, [JobName.DISPATCH, JobName.HEARTBEAT], both_ok, cap_s=180.0)
    assert HeartbeatState.RECEIVED in states()
    assert check(recovered, capsys, monkeypatch, "heartbeat")[0] == 0
    assert check(recovered, capsys, monkeypatch, "loopback")[0] == 0


def test_disk_space_of_data_dir(
    app_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file system is not filled here (it is shared): the thresholds are set around its real
    free fraction instead, and the check reads the real figure."""
    import shutil

    usage = shutil.disk_usage(tmp_path)
    free = usage.free / usage.total
    roomy = app_factory(
        data_dir=tmp_path / "data", check_disk_warning_free=free / 4, check_disk_critical_free=free / 8
    )
    code, result, _ = check(roomy, capsys, monkeypatch, "disk")
    assert code == 0 and abs(result["perfdata"]["disk_free"] - free * 100) < 1.0
    full = app_factory(
        data_dir=tmp_path / "data", check_disk_warning_free=1.0, check_disk_critical_free=min(1.0, free * 1.5)
    )
    assert check(full, capsys, monkeypatch, "disk")[0] == 2
