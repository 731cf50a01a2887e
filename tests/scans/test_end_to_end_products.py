"""Alert in -> Rev 0 out -> scan -> skymap -> Rev 1 notice out, Circular awaiting approval -> approved
-> submitted to the GCN Circulars API (a local stand-in) exactly once. Real daemon, skyscan, HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from skymist.archive.verify import verify_record
from skymist.cli.main import main
from skymist.outbox.sinks.circulars import SINK_CIRCULARS
from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import AlertState, CircularState, OutboxState, ScanState
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import Circular
from skymist.store.scan_models import Scan
from tests.archive.support import records_complete
from tests.conftest import MockKafka, make_settings
from tests.helpers import read_topic
from tests.refine.circulars_api import CircularsApiStandIn
from tests.scans.conftest import scan_settings
from tests.support.daemon import DaemonProcess
from tests.support.gcn_schema import notice_validator
from tests.support.rocrate_check import crate_problems
from tests.support.skyscan_service import Service
from tests.tier import size
from tests.waiting import wait_for

#: IceCube's three resolutions (8, 64, 512); the pixels refined at 64 and 512 by the tier (tests/tier.py):
#: 4 and 4 (about 1,300 fits) in the quick tier, 12 and 24 (about 3,100) in the long one
REALISTIC = {
    "name": "online_gaussian",
    "reco_algo": "online_gaussian",
    "nsides": {8: 0, 64: size(4, 12), 512: size(4, 24)},
    "priority": 100,
    "max_pixel_reco_time_s": 30,
    "cluster": "local",
    "workers": 1,
    "deadline_s": 300.0,
}


@pytest.mark.slow
def test_alert_to_approved_circular(
    database_url: str,
    kafka: MockKafka,
    topic: str,
    skyscan: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with CircularsApiStandIn() as circulars:
        overrides = scan_settings(
            skyscan.url,
            slack_mode="console",
            scan_plans={c: [REALISTIC] for c in ("GOLD", "BRONZE", "CASCADE", "UNCLASSIFIED")},
            circulars_enabled=True,
            circulars_api_url=f"{circulars.url}/api/circulars",
            circulars_token=circulars.token,
            skymap_thresholds="wilks",
            public_base_url="https://roc.example.org/alerts",
        )
        settings = make_settings(
            database_url, kafka, kafka_topics=[topic], data_dir=str(tmp_path), log_level="INFO", **overrides
        )
        app = build_app(settings)
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")
        _alert, value = alert_batch(1, seed=51, size_bytes=20_000)[0]
        try:
            daemon.start()
            producer = kafka.producer()
            producer.produce(topic, value)
            producer.flush(10)

            def localized() -> bool:
                with app.sessions() as session:
                    return session.execute(select(Alert.state)).scalar() == AlertState.LOCALIZED

            wait_for(localized, 180, "the alert to be localized")
            with app.sessions() as session:
                name = session.execute(select(Alert.name)).scalar_one()
                assert name is not None
                scan = session.execute(select(Scan)).scalar_one()
                draft = session.execute(select(Circular)).scalar_one()
            assert scan.state == ScanState.FINAL and draft.state == CircularState.AWAITING_APPROVAL
            # online_gaussian is an approximation: its Rev 1 is held for a human, only Rev 0 is out
            notices = read_topic(kafka.bootstrap, settings.notice_topic, expect=1)
            assert [json.loads(m.value())["record_number"] for m in notices] == [0]
            assert "online_gaussian" in draft.body and "refined to" not in draft.body
            assert circulars.posts == []  # nothing goes to GCN before a human approves

            monkeypatch.setenv("SKYMIST_CIRCULARS_ENABLED", "true")
            assert main(["--database-url", database_url, "circular", "approve", name, "--by", "alice"]) == 0
            capsys.readouterr()

            def submitted() -> bool:
                with app.sessions() as session:
                    return session.get(Circular, draft.id).state == CircularState.SUBMITTED  # type: ignore[union-attr]

            wait_for(submitted, 60, "the Circular to be submitted")
            notices = read_topic(kafka.bootstrap, settings.notice_topic, expect=2)
            records = sorted(json.loads(m.value())["record_number"] for m in notices)
            assert records == [0, 1]
            validator, _ = notice_validator()
            for message in notices:
                assert not list(validator.iter_errors(json.loads(message.value())))
            rev1 = next(json.loads(m.value()) for m in notices if json.loads(m.value())["record_number"] == 1)
            assert rev1["alert_type"] == "update" and rev1["healpix_url"].startswith(
                "https://roc.example.org/alerts/"
            )
            assert rev1["systematic_included"] is False and "online_gaussian" in rev1["additional_info"]
            # sent once: the Circular's one outbox row is marked sent, so no dispatcher pass sends it again
            with app.sessions() as session:
                rows = session.execute(select(OutboxRow.state).where(OutboxRow.sink == SINK_CIRCULARS)).all()
            assert [state for (state,) in rows] == [OutboxState.SENT]
            wait_for(lambda: records_complete(settings), 60, "every alert's archive record written")
            assert daemon.terminate() == 0
        finally:
            daemon.close()
            app.close()
        assert len(circulars.posts) == 1
        post = circulars.posts[0]
        assert post["subject"].startswith(f"{name} - IceCube observation of a high-energy neutrino candidate")
        assert "draft" not in post["subject"].lower()
        assert f"{rev1['ra']:.2f}" in post["body"]
    # every record the daemon wrote is an RO-Crate 1.3 for the community validator (REQUIRED and
    # RECOMMENDED, offline: the JSON-LD context from the installed ro-crate-py)
    records = sorted(p for p in settings.archive_root.iterdir() if (p / "bagit.txt").is_file())
    assert name in [p.name for p in records]
    for folder in records:
        assert verify_record(folder) == [], folder
        assert crate_problems(folder) == [], folder
