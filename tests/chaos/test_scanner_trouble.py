"""The scanner backend down (connection refused) while alerts arrive, then slow (hanging and failing
answers): every scan still ends with its final result, each exactly once at the backend, and no
product is lost or doubled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import ScanState
from skymist.store.scan_models import Scan
from tests.chaos.harness import figures, outbox_states, wait_for
from tests.conftest import MockKafka, fresh_database, make_settings
from tests.scans.conftest import scan_settings
from tests.scans.test_daemon_scans import backend_scans, slack_rows_sent
from tests.support.daemon import DaemonProcess
from tests.support.flaky_proxy import FlakyProxy
from tests.support.skyscan_service import Service, service_env
from tests.support.slack_api import SlackStandIn

N_ALERTS = 3


@pytest.fixture
def skyscan() -> Iterator[Service]:
    with fresh_database("skyscan_chaos") as url:
        service = Service(
            url, service_env(MAX_CONCURRENT_SCANS=2, RECO_OPTIONS={"dummy": {"delay_s": 0.02}})
        ).start()
        try:
            yield service
        finally:
            service.stop()


def test_scanner_down_then_slow(
    database_url: str, kafka: MockKafka, topic: str, skyscan: Service, slack: SlackStandIn, tmp_path: Path
) -> None:
    proxy = FlakyProxy(skyscan.url, hang_s=2.5).start()
    port_url = proxy.url
    proxy.stop()  # the scanner is down: connections are refused
    settings = make_settings(
        database_url,
        kafka,
        kafka_topics=[topic],
        kafka_session_timeout_ms=6000,
        **scan_settings(port_url, slack),
    )
    app = build_app(settings)
    batch = alert_batch(N_ALERTS, seed=17, size_bytes=20_000, run_id=143300)
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")

    def scans() -> list[Scan]:
        with app.sessions() as session:
            return list(session.execute(select(Scan)).scalars())

    try:
        daemon.start()
        producer = kafka.producer()
        for _alert, value in batch:
            producer.produce(topic, value)
        producer.flush(10)
        wait_for(lambda: len(scans()) == N_ALERTS, 60, "the planned scans")
        # the scanner stays down until every scan has tried it (and failed) twice
        wait_for(
            lambda: all(s.attempts >= 2 for s in scans()),
            120,
            "every scan to try the scanner that is down twice",
            lambda: [(s.state.value, s.attempts, s.last_error) for s in scans()],
        )
        assert all(s.state == ScanState.PLANNED for s in scans())  # nothing reached the backend
        proxy.start()  # back, but slow: hanging and failing answers
        proxy.fail("GET", r"/scan/.*/(status|manifest)", "hang", times=4)
        proxy.fail("GET", r"/scan/.*/result", "500", times=4)
        proxy.fail("POST", r"/scan$", "forward_then_500", times=1)
        wait_for(
            lambda: all(s.state == ScanState.FINAL for s in scans()) and slack_rows_sent(app),
            240,
            "every scan's final result",
            lambda: (Counter(s.state.value for s in scans()), outbox_states(app)),
        )
        assert daemon.terminate() == 0
    finally:
        proxy.stop()
        daemon.close()
    per_key = [backend_scans(skyscan, s.request_key) for s in scans()]
    keys = [m["metadata"]["event_payload"]["key"] for m in slack.messages]
    result = figures(
        "scanner down (two failed tries per scan), then slow",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=keys,
        scans_final=sum(1 for s in scans() if s.state == ScanState.FINAL),
        backend_scans_per_request=per_key,
        proxied_requests=len(proxy.log),
    )
    app.close()
    result.check()
    assert per_key == [1] * N_ALERTS and result.dead_lettered == 0
