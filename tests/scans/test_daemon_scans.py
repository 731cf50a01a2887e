"""The daemon with its scan tracker, a real ``skyscan serve`` and real HTTP: alerts in, scans run,
Slack milestones once each, and nothing lost or doubled when the daemon is killed mid-scan."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scanner_client import DEFAULT_REQUEST_KEY_FIELD
from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import OutboxState, ScanState
from skymist.store.models import OutboxRow
from skymist.store.scan_models import Scan
from tests.conftest import MockKafka, make_settings
from tests.scans.conftest import scan_settings
from tests.support.daemon import DaemonProcess
from tests.support.pixel_gate import PixelGate
from tests.support.skyscan_service import Service
from tests.support.slack_api import SlackStandIn
from tests.waiting import wait_for


def scans(app: Any) -> list[Scan]:
    with app.sessions() as session:
        return list(session.execute(select(Scan).order_by(Scan.id)).scalars())


def slack_rows_sent(app: Any) -> bool:
    with app.sessions() as session:
        unsent = session.execute(
            select(OutboxRow.id).where(OutboxRow.sink == "slack", OutboxRow.state != OutboxState.SENT)
        ).first()
        return unsent is None


def produce(kafka: MockKafka, topic: str, n: int, seed: int) -> None:
    producer = kafka.producer()
    for _alert, value in alert_batch(n, seed=seed, size_bytes=20_000):
        producer.produce(topic, value)
    producer.flush(10)


def backend_scans(skyscan: Service, request_key: str) -> int:
    with skyscan.client() as client:
        found = client.find_scans(
            {f"classifiers.{DEFAULT_REQUEST_KEY_FIELD}": request_key}, include_deleted=True
        )
    return len([m for m in found if not m.classifiers.get("rescan")])


@pytest.mark.slow
def test_alerts_are_scanned_end_to_end(
    database_url: str, kafka: MockKafka, topic: str, skyscan: Service, slack: SlackStandIn, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, kafka, kafka_topics=[topic], log_level="INFO", **scan_settings(skyscan.url, slack)
    )
    app = build_app(settings)
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")
    try:
        daemon.start()
        produce(kafka, topic, 2, seed=31)
        wait_for(
            lambda: len(scans(app)) == 2 and all(s.state == ScanState.FINAL for s in scans(app)),
            120,
            "two final scans",
        )
        wait_for(lambda: slack_rows_sent(app), 60, "every Slack message sent")
        assert daemon.terminate() == 0, daemon.log_text()[-3000:]
    finally:
        daemon.close()
    for done in scans(app):
        assert done.result is not None and done.progress_percent == 100.0 and done.submitted_at is not None
        assert backend_scans(skyscan, done.request_key) == 1
    keys = Counter(m["metadata"]["event_payload"]["key"] for m in slack.messages)
    assert max(keys.values()) == 1  # nothing doubled
    for done in scans(app):
        assert keys[f"scan:{done.id}:started"] == 1 and keys[f"scan:{done.id}:final"] == 1
    assert sum(1 for key in keys if key.endswith("slack_alert")) == 2
    app.close()


@pytest.mark.slow
def test_a_daemon_killed_mid_scan_picks_it_up_again(
    database_url: str,
    kafka: MockKafka,
    topic: str,
    skyscan: Service,
    gate: PixelGate,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    gate.hold(3)  # the scan is surely mid-way when the daemon dies, and stays so until it is back
    settings = make_settings(
        database_url,
        kafka,
        kafka_topics=[topic],
        kafka_session_timeout_ms=6000,
        log_level="INFO",
        **scan_settings(skyscan.url, slack, scan_lease_s=2.0),
    )
    app = build_app(settings)
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")
    try:
        daemon.start()
        produce(kafka, topic, 1, seed=41)
        wait_for(
            lambda: bool(scans(app)) and scans(app)[0].state in (ScanState.RUNNING, ScanState.PARTIAL),
            120,
            "the scan to run",
        )
        daemon.kill9()
        running = scans(app)[0]
        assert running.state in (ScanState.RUNNING, ScanState.PARTIAL)
        daemon.start()
        gate.release()
        wait_for(lambda: scans(app)[0].state == ScanState.FINAL, 180, "the final result after the restart")
        wait_for(lambda: slack_rows_sent(app), 60, "every Slack message sent")
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    done = scans(app)[0]
    assert done.backend_scan_id == running.backend_scan_id and done.rescans == 0  # the same backend scan
    assert backend_scans(skyscan, done.request_key) == 1
    keys = Counter(m["metadata"]["event_payload"]["key"] for m in slack.messages)
    assert max(keys.values()) == 1 and keys[f"scan:{done.id}:final"] == 1
    app.close()
