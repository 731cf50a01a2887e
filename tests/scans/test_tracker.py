"""The scan tracker against a real ``skyscan serve`` over HTTP, through a proxy that misbehaves on
purpose: every failure ends in the documented state, with one backend scan and no doubled message.

Where a test acts on a running scan, the dummy reco's gate holds it after a few pixels (``gate``), so
it is still running when the test acts, however fast the machine; the test then releases it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from scanner_client import DEFAULT_REQUEST_KEY_FIELD, ReplacedError
from skymist.ingest.inbox import Ingestor
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.states import AlertState, ScanState
from skymist.store.models import Alert, OutboxRow
from skymist.store.scan_models import Scan, ScanProgress
from tests.helpers import envelope, raw, real_event
from tests.scans.conftest import DUMMY_PLAN, drive, scan_settings
from tests.support.flaky_proxy import FlakyProxy
from tests.support.pixel_gate import PixelGate
from tests.support.skyscan_service import Service
from tests.support.slack_api import SlackStandIn


def alert_with_scan(app: Any, shared_dir: Path) -> int:
    Ingestor(app).ingest_batch([raw(envelope(real_event(shared_dir)))])
    with app.sessions() as session:
        return int(session.execute(select(Scan.id)).scalar_one())


def scan(app: Any, scan_id: int) -> Scan:
    with app.sessions() as session:
        row: Scan | None = session.get(Scan, scan_id)
        assert row is not None
        return row


def state_is(app: Any, scan_id: int, *states: ScanState) -> Any:
    return lambda: scan(app, scan_id).state in states


def backend_scans_of(app: Any, skyscan: Service, scan_id: int) -> list[str]:
    """Scans on the backend submitted for this SkyMist scan (by its request key; rescans excluded)."""
    key = scan(app, scan_id).request_key
    with skyscan.client() as client:
        found = client.find_scans({f"classifiers.{DEFAULT_REQUEST_KEY_FIELD}": key}, include_deleted=True)
    return [m.scan_id for m in found if not m.classifiers.get("rescan")]


def milestones(app: Any) -> Counter[str]:
    with app.sessions() as session:
        keys = session.execute(
            select(OutboxRow.idempotency_key).where(OutboxRow.product.like("slack_scan_%"))
        )
        return Counter(key.split(":")[2] for key in keys.scalars())


@pytest.mark.slow
def test_a_scan_runs_to_its_final_result(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy, slack: SlackStandIn
) -> None:
    app = app_factory(**scan_settings(proxy.url, slack))
    scan_id = alert_with_scan(app, shared_dir)
    assert scan(app, scan_id).state == ScanState.PLANNED  # planned in the alert's own transaction
    drive(app, state_is(app, scan_id, ScanState.FINAL))
    done = scan(app, scan_id)
    with skyscan.client() as client:
        served = client.get_result_raw(done.backend_scan_id or "")
    assert served is not None and served.result.is_final
    assert done.result == served.raw  # stored verbatim
    assert json.loads(done.result)["skyscan_result"]["nside-4"]["metadata"]["complete"] is True
    with app.sessions() as session:
        snapshots = list(
            session.execute(select(ScanProgress).where(ScanProgress.scan_id == scan_id)).scalars()
        )
        alert_state = session.execute(select(Alert.state)).scalar_one()
    assert len(snapshots) >= 2 and snapshots[-1].percent == 100.0
    assert done.pixels_done == snapshots[-1].pixels_done and (done.pixels_done or 0) > 12
    assert alert_state == AlertState.LOCALIZED_PENDING
    assert backend_scans_of(app, skyscan, scan_id) == [done.backend_scan_id]
    counts = milestones(app)
    assert counts["started"] == 1 and counts["final"] == 1 and max(counts.values()) == 1
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    dispatcher.drain(timeout_s=30)
    dispatcher.close()
    delivered = Counter(m["metadata"]["event_payload"]["key"] for m in slack.messages)
    assert delivered[f"scan:{scan_id}:started"] == 1 and delivered[f"scan:{scan_id}:final"] == 1
    assert max(delivered.values()) == 1


@pytest.mark.slow
def test_unknown_outcome_on_submit_creates_one_backend_scan(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy
) -> None:
    app = app_factory(**scan_settings(proxy.url))
    scan_id = alert_with_scan(app, shared_dir)
    proxy.fail("POST", r"^/scan$", "forward_then_500", times=2)  # the backend acts, the answer is lost
    drive(app, state_is(app, scan_id, ScanState.FINAL))
    assert proxy.count("POST", r"^/scan$") >= 1
    assert len(backend_scans_of(app, skyscan, scan_id)) == 1


@pytest.mark.slow
def test_backend_errors_back_off_and_shifters_are_told_once(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy
) -> None:
    app = app_factory(**scan_settings(proxy.url, slack_mode="console"))
    scan_id = alert_with_scan(app, shared_dir)
    proxy.fail("POST", r"^/scan$", "500", times=6)
    tracker = drive(app, lambda: scan(app, scan_id).attempts >= 3)
    failing = scan(app, scan_id)
    assert failing.state == ScanState.PLANNED and failing.last_error and "500" in failing.last_error
    assert milestones(app)["backend_down"] == 1  # told once, not per attempt
    drive(app, state_is(app, scan_id, ScanState.FINAL), tracker=tracker)
    assert scan(app, scan_id).attempts == 0 and milestones(app)["backend_down"] == 1
    assert len(backend_scans_of(app, skyscan, scan_id)) == 1


@pytest.mark.slow
def test_timeouts_and_refused_connections_are_survived(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy, gate: PixelGate
) -> None:
    gate.hold(3)  # the scan runs on through the outage, so the tracker keeps asking for its status
    app = app_factory(**scan_settings(proxy.url, slack_mode="console"))
    scan_id = alert_with_scan(app, shared_dir)
    tracker = drive(app, state_is(app, scan_id, ScanState.SUBMITTED, ScanState.RUNNING, ScanState.PARTIAL))
    proxy.fail("GET", r"/status", "hang", times=2)  # longer than the client's 1 s timeout
    drive(app, lambda: scan(app, scan_id).attempts >= 1, tracker=tracker)
    assert "Timeout" in (scan(app, scan_id).last_error or "")
    port = proxy.port
    proxy.stop()  # connection refused
    drive(app, lambda: "ConnectionError" in (scan(app, scan_id).last_error or ""), tracker=tracker)
    proxy.port = port
    proxy.start()
    gate.release()
    drive(app, state_is(app, scan_id, ScanState.FINAL), tracker=tracker)
    assert len(backend_scans_of(app, skyscan, scan_id)) == 1
    assert milestones(app)["backend_down"] <= 2  # at most once per outage


@pytest.mark.slow
def test_a_stuck_scan_is_rescanned_with_replacement(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy, gate: PixelGate
) -> None:
    gate.hold(3)  # the old scan cannot finish before its answers are frozen
    app = app_factory(**scan_settings(proxy.url, scan_stuck_after_s=1.5))
    scan_id = alert_with_scan(app, shared_dir)
    tracker = drive(app, lambda: scan(app, scan_id).backend_scan_id is not None)
    old_id = scan(app, scan_id).backend_scan_id
    proxy.freeze(rf"^/scan/{old_id}/(status|manifest)")  # the old scan never seems to move
    drive(app, lambda: scan(app, scan_id).rescans == 1, tracker=tracker)
    gate.release()
    drive(app, state_is(app, scan_id, ScanState.FINAL), tracker=tracker)
    done = scan(app, scan_id)
    assert done.backend_scan_id != old_id and "no progress" in (done.last_error or "")
    with skyscan.client() as client, pytest.raises(ReplacedError) as replaced:
        client.get_status(old_id or "", follow_replaced=False)
    assert replaced.value.new_scan_id == done.backend_scan_id
    assert len(backend_scans_of(app, skyscan, scan_id)) == 1


@pytest.mark.slow
def test_a_scan_aborted_on_the_backend_is_rescanned(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy, gate: PixelGate
) -> None:
    gate.hold(3)  # still running when it is aborted
    app = app_factory(**scan_settings(proxy.url))
    scan_id = alert_with_scan(app, shared_dir)
    tracker = drive(app, state_is(app, scan_id, ScanState.RUNNING, ScanState.PARTIAL))
    old_id = scan(app, scan_id).backend_scan_id or ""
    with skyscan.client() as client:
        client.delete_scan(old_id)  # someone aborts it on the backend
    gate.release()
    drive(app, state_is(app, scan_id, ScanState.FINAL), tracker=tracker)
    done = scan(app, scan_id)
    assert done.rescans == 1 and done.backend_scan_id != old_id
    assert "stopped without a result" in (done.last_error or "")


@pytest.mark.slow
def test_a_replaced_scan_is_followed(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy, gate: PixelGate
) -> None:
    gate.hold(3)  # still running when it is replaced
    app = app_factory(**scan_settings(proxy.url))
    scan_id = alert_with_scan(app, shared_dir)
    tracker = drive(app, state_is(app, scan_id, ScanState.RUNNING, ScanState.PARTIAL))
    old_id = scan(app, scan_id).backend_scan_id or ""
    with skyscan.client() as client:
        new_id = client.rescan(old_id, abort_first=True, replace_scan=True).scan_id  # replaced on the backend
    gate.release()
    drive(app, state_is(app, scan_id, ScanState.FINAL), tracker=tracker)
    done = scan(app, scan_id)
    assert done.backend_scan_id == new_id and done.rescans == 0
    assert proxy.count("GET", rf"^/scan/{old_id}/status") >= 1


def test_a_missed_deadline_fails_the_scan(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy, gate: PixelGate
) -> None:
    gate.hold(3)  # the scan cannot end before its deadline, however fast the machine
    plan = {**DUMMY_PLAN, "deadline_s": 2.0}
    app = app_factory(
        **scan_settings(
            proxy.url,
            slack_mode="console",
            scan_plans={"BRONZE": [plan], "GOLD": [plan], "CASCADE": [plan], "UNCLASSIFIED": [plan]},
        )
    )
    scan_id = alert_with_scan(app, shared_dir)
    drive(app, state_is(app, scan_id, ScanState.FAILED), timeout_s=30)
    failed = scan(app, scan_id)
    assert "deadline" in (failed.last_error or "") and milestones(app)["failed"] == 1
    with skyscan.client() as client:
        assert client.get_status(failed.backend_scan_id or "").is_deleted


@pytest.mark.slow
def test_an_unclassified_event_is_scanned_on_request(
    database_url: str,
    app_factory: Any,
    shared_dir: Path,
    skyscan: Service,
    proxy: FlakyProxy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from skymist.cli.main import main

    settings = scan_settings(proxy.url)
    app = app_factory(**settings)
    Ingestor(app).ingest_batch([raw(real_event(shared_dir))])  # a bare event: no scan by itself
    with app.sessions() as session:
        assert session.execute(select(func.count()).select_from(Scan)).scalar_one() == 0
    monkeypatch.setenv("SKYMIST_SCAN_PLANS", json.dumps(settings["scan_plans"]))
    assert main(["--database-url", database_url, "scan", "136662_35405932"]) == 0
    assert "planned scan(s)" in capsys.readouterr().out
    assert main(["--database-url", database_url, "scan", "136662_35405932"]) == 2  # already planned
    assert "already has scans" in capsys.readouterr().err
    with app.sessions() as session:
        scan_id = session.execute(select(Scan.id)).scalar_one()
    drive(app, state_is(app, scan_id, ScanState.FINAL))
    assert main(["--database-url", database_url, "scans", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["scans"][0]["state"] == "final" and listing["scans"][0]["progress_percent"] == 100.0
    assert main(["--database-url", database_url, "alerts", "show", "136662_35405932", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scans"][0]["state"] == "final"


def test_a_retraction_aborts_the_alerts_scans(
    app_factory: Any, shared_dir: Path, skyscan: Service, proxy: FlakyProxy, gate: PixelGate
) -> None:
    from skymist.alerts.retraction import retract

    gate.hold(3)  # still running when the alert is retracted
    app = app_factory(**scan_settings(proxy.url))
    scan_id = alert_with_scan(app, shared_dir)
    drive(app, state_is(app, scan_id, ScanState.RUNNING, ScanState.PARTIAL))
    backend_id = scan(app, scan_id).backend_scan_id or ""
    outcome = retract(app, "IceCube-220524A", "muon bundle seen by IceTop", by="bob")
    assert outcome.aborted_backend_scans == (backend_id,)
    stopped = scan(app, scan_id)
    assert stopped.state == ScanState.ABORTED and "retracted" in (stopped.last_error or "")
    with skyscan.client() as client:
        assert client.get_status(backend_id).is_deleted
