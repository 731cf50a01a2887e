"""Screens for shifters: ``skymist status`` counts the synthetic heartbeats but lists only the real
alerts (``--heartbeats`` lists them too); ``skymist alerts list`` gives an alert's position from its
newest *published* revision and says which, never from a refined revision held for approval."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from skymist.alerts.refined import localize_alert
from skymist.cli.main import main
from skymist.ingest.inbox import Ingestor
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.runtime.heartbeat import synthetic_envelope
from tests.helpers import raw
from tests.refine.conftest import real_scan_doc, real_scan_json
from tests.refine.support import mark_localization_pending, record_alert

__all__ = ["real_scan_doc", "real_scan_json"]  # fixtures

NO_DAEMON = ["--metrics-url", "http://127.0.0.1:1"]


def test_status_leaves_heartbeats_out_unless_asked(
    app_factory: Any, database_url: str, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory()
    record_alert(app, shared_dir)
    now = dt.datetime.now(dt.UTC)
    beats = [raw(synthetic_envelope(app.settings, event_id, now)) for event_id in (1, 2, 3)]
    assert all(r.status == "processed" for r in Ingestor(app).ingest_batch(beats))
    base = ["--database-url", database_url, "status", *NO_DAEMON]

    assert main([*base, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in status["alerts_24h"]] == ["IceCube-220524A"]
    assert status["heartbeats_24h"] == 3 and status["heartbeats_listed"] is False
    assert main(base) == 0
    shown = capsys.readouterr().out
    assert "alerts (24 h): 1 (and 3 heartbeat(s), not listed: --heartbeats lists them)" in shown
    assert "heartbeat-" not in shown and "IceCube-220524A" in shown

    assert main([*base, "--heartbeats", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["alerts_24h"]
    assert sorted(a["name"] for a in listed) == [
        "IceCube-220524A",
        "heartbeat-1",
        "heartbeat-2",
        "heartbeat-3",
    ]
    assert main([*base, "--heartbeats"]) == 0
    assert "heartbeat-2" in capsys.readouterr().out


def test_alerts_list_shows_the_published_revision_and_says_which(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(data_dir=tmp_path, rev1_requires_approval=True)
    alert_id = record_alert(app, shared_dir)
    base = ["--database-url", database_url, "alerts", "list"]
    assert main([*base, "--json"]) == 0
    [queued] = json.loads(capsys.readouterr().out)["alerts"]
    assert queued["published_revision"] is None and queued["revisions"][0]["status"] == "pending"

    dispatcher = Dispatcher(app, build_sinks(app.settings))
    assert dispatcher.drain(timeout_s=60).sent >= 2  # Rev 0's notice and VOEvent on the broker
    dispatcher.close()
    mark_localization_pending(app, alert_id)
    assert localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final").status == "created"

    assert main([*base, "--json"]) == 0
    [alert] = json.loads(capsys.readouterr().out)["alerts"]
    rev0, rev1 = alert["revisions"]
    assert (rev0["status"], rev1["status"]) == ("published", "held")
    assert alert["published_revision"] == 0
    assert abs(rev1["ra_deg"] - rev0["ra_deg"]) > 0.01  # a different position: the list must choose
    assert main(base) == 0
    header, row, footer = capsys.readouterr().out.splitlines()
    assert "REV" in header.split() and "LATER" in header
    assert f" 0 {rev0['ra_deg']:8.3f} {rev0['dec_deg']:+8.3f}  1 held" in row, row
    assert f"{rev1['ra_deg']:8.3f}" not in row
    assert footer.startswith("1 alert(s); RA/Dec (J2000 deg) of the newest published revision")
