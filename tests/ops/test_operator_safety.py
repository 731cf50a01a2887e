"""An operator cannot publish by accident: a scan that would publish a new public revision asks for
--yes and says what will be sent; a retraction blocks new scans; replay has a tense and a dry run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from skymist.alerts.refined import localize_alert
from skymist.cli.main import main
from skymist.store.models import InboxMessage, OutboxRow
from skymist.store.product_models import AuditEntry
from skymist.store.scan_models import Scan
from tests.helpers import envelope, real_event
from tests.refine.conftest import real_scan_doc, real_scan_json
from tests.refine.support import mark_localization_pending, record_alert

__all__ = ["real_scan_doc", "real_scan_json"]  # fixtures


def count(app: Any, model: Any) -> int:
    with app.sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.slow
def test_a_scan_that_would_publish_a_new_revision_needs_yes(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(data_dir=tmp_path)
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    assert localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final").status == "created"
    base = ["--database-url", database_url]
    assert main([*base, "scan", "IceCube-220524A", "--by", "ana"]) == 2
    line = error_line(capsys)
    assert "new revision" in line and "GCN notice to" in line and "Circular draft" in line and "--yes" in line
    assert count(app, Scan) == 0  # nothing planned
    assert main([*base, "scan", "IceCube-220524A", "--by", "ana", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "planned scan(s)" in out and "confirmed with --yes" in out
    with app.sessions() as session:
        assert set(session.execute(select(Scan.requested_by)).scalars()) == {"cli:ana"}

    # a retraction blocks every new scan and every rescan, --yes or not
    assert main([*base, "retract", "IceCube-220524A", "--reason", "muon bundle", "--by", "ana"]) == 0
    capsys.readouterr()
    before = count(app, Scan)
    assert main([*base, "scan", "IceCube-220524A", "--yes"]) == 2
    assert "retracted" in error_line(capsys)
    with app.sessions() as session:
        any_scan = session.execute(select(Scan.id)).scalars().first()
    assert main([*base, "scans", "rescan", str(any_scan), "--yes"]) == 2
    assert "retracted" in error_line(capsys)
    assert count(app, Scan) == before
    with app.sessions() as session:
        assert "ana" in set(session.execute(select(AuditEntry.actor)).scalars())


def test_replay_dry_run_writes_nothing_and_tense_is_chosen(
    app_factory: Any, database_url: str, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory()
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(envelope(real_event(shared_dir), stream="GOLD")))
    base = ["--database-url", database_url, "replay", str(path)]
    assert main([*base, "--dry-run", "--tense", "test", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["dry_run"] and document["counts"] == {"processed": 1}
    notice = next(p for p in document["would_send"] if p["product"] == "notice_json")
    assert json.loads(notice["payload"])["alert_tense"] == "test"
    assert count(app, InboxMessage) == 0 and count(app, OutboxRow) == 0  # nothing written
    assert main([*base, "--tense", "current"]) == 2
    assert "--yes" in error_line(capsys)
    assert main(base) == 0  # the default: archival
    capsys.readouterr()
    with app.sessions() as session:
        payload = session.execute(
            select(OutboxRow.payload).where(OutboxRow.product == "notice_json")
        ).scalar_one()
    assert json.loads(payload)["alert_tense"] == "archival"
