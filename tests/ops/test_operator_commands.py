"""The operator commands a shifter needs: status, circular list|edit (in $EDITOR, checked, audited),
outbox show --bytes, outbox cancel (audited)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from skymist.alerts.refined import localize_alert
from skymist.cli.main import main
from skymist.states import OutboxState
from skymist.store.models import OutboxRow
from skymist.store.product_models import AuditEntry, Circular
from tests.refine.conftest import real_scan_doc, real_scan_json
from tests.refine.support import mark_localization_pending, record_alert

__all__ = ["real_scan_doc", "real_scan_json"]  # fixtures


def test_outbox_show_bytes_and_cancel(
    app_factory: Any, database_url: str, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory()
    record_alert(app, shared_dir)
    with app.sessions() as session:
        notice = session.execute(select(OutboxRow).where(OutboxRow.product == "notice_json")).scalar_one()
    # --bytes writes exactly the payload (a subprocess: stdout as bytes)
    shown = subprocess.run(
        [sys.executable, "-m", "skymist.cli.main", "--database-url", database_url, "outbox", "show",
         str(notice.id), "--bytes"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert shown.stdout == notice.payload
    base = ["--database-url", database_url, "outbox"]
    assert main([*base, "cancel", str(notice.id), "--reason", "sent by hand", "--by", "eve"]) == 0
    assert "1 row(s) cancelled by eve" in capsys.readouterr().out
    assert main([*base, "cancel", str(notice.id), "--reason", "again"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"outbox row {notice.id} is cancelled" in err
    assert main([*base, "show", "9999"]) == 2
    assert "no outbox row with id 9999" in capsys.readouterr().err
    with app.sessions() as session:
        assert session.get(OutboxRow, notice.id).state == OutboxState.CANCELLED
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.action == "outbox_cancelled")
        ).scalar_one()
    assert (entry.actor, entry.subject_id, entry.reason) == ("eve", notice.id, "sent by hand")


@pytest.mark.slow
def test_status_circular_list_and_edit(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(data_dir=tmp_path)
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    assert localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final").status == "created"
    base = ["--database-url", database_url]

    assert main([*base, "status", "--json", "--metrics-url", "http://127.0.0.1:1"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["daemon"]["reachable"] is False
    assert [a["name"] for a in status["alerts_24h"]] == ["IceCube-220524A"]
    assert len(status["circulars_awaiting_approval"]) == 1
    assert main([*base, "status", "--metrics-url", "http://127.0.0.1:1"]) == 0
    assert "Circulars awaiting approval: 1" in capsys.readouterr().out

    assert main([*base, "circular", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["circulars"]
    assert listed["alert"] == "IceCube-220524A" and listed["state"] == "awaiting_approval"

    # a real editor run: sed edits the file in place, as a human would in vi
    monkeypatch.setenv("EDITOR", "sed -i s/We\\ encourage/We\\ strongly\\ encourage/")
    assert main([*base, "circular", "edit", "IceCube-220524A", "--by", "fay", "--reason", "tone"]) == 0
    assert "edited by fay" in capsys.readouterr().out
    with app.sessions() as session:
        circular = session.get(Circular, listed["id"])
        assert circular is not None and "We strongly encourage" in circular.body
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "circular_edited")).scalar_one()
    assert entry.actor == "fay" and "We encourage" in entry.details["old_text"]

    # an edit that breaks a rule is refused with the rule, and the draft stays as it was
    monkeypatch.setenv("EDITOR", "sed -i 1s/$/\\ (draft)/")
    assert main([*base, "circular", "edit", "IceCube-220524A"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'draft'" in err and "not saved" in err
    with app.sessions() as session:
        again = session.get(Circular, listed["id"])
        assert again is not None and "(draft)" not in again.subject
    monkeypatch.delenv("EDITOR")
    monkeypatch.delenv("VISUAL", raising=False)
    assert main([*base, "circular", "edit", "IceCube-220524A"]) == 2
    assert "$EDITOR" in capsys.readouterr().err
