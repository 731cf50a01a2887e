"""Helpers of the archive tests: one alert taken through Rev 0, Rev 1 and an approved Circular."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from skymist.alerts.refined import localize_alert
from skymist.app import App
from skymist.archive.hooks import flush_records, stale_alerts
from skymist.archive.verify import verify_record
from skymist.circulars.approval import approve
from skymist.config import Settings
from skymist.ingest.inbox import Ingestor
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.queue import HELD_UNTIL
from skymist.outbox.sinks.factory import build_sinks
from skymist.runtime.assembly import build_app
from skymist.states import OutboxState
from skymist.store.models import Alert, OutboxRow
from tests.helpers import envelope, raw, real_event
from tests.refine.support import mark_localization_pending, record_alert


def _waiting(app: App) -> int:
    """Rows not sent yet that a dispatcher will send (retries in their backoff included, held ones not)."""
    with app.sessions() as session:
        return len(
            session.execute(
                select(OutboxRow.id).where(
                    OutboxRow.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
                    OutboxRow.next_attempt_at < HELD_UNTIL,
                )
            ).all()
        )


def drain(app: App, timeout_s: float = 60.0) -> int:
    """Send everything that will be sent, waiting out retries; returns how many rows were sent."""
    dispatcher = Dispatcher(app, build_sinks(app.settings))
    deadline = time.monotonic() + timeout_s
    sent = 0
    try:
        while True:
            sent += dispatcher.drain(timeout_s=30).sent
            if not _waiting(app) or time.monotonic() > deadline:
                assert flush_records(app.outbox_hooks)  # and the archive records of what was sent
                return sent
            time.sleep(0.1)
    finally:
        dispatcher.close()


def full_alert(app: App, shared_dir: Path, scan_json: bytes) -> int:
    """IceCube-220524A: Rev 0 sent, the real scan localized, Rev 1 sent, the Circular approved and sent."""
    alert_id = record_alert(app, shared_dir)
    drain(app)
    mark_localization_pending(app, alert_id)
    localize_alert(app, alert_id, scan_json, scan_ref="scan:1:final")
    drain(app)
    approve(app, "IceCube-220524A", by="alice", reason="checked")
    drain(app)
    return alert_id


def replay_real_alerts(app: App, shared_dir: Path) -> None:
    """Both shared real events, wrapped as Bronze alerts, and their prompt products sent."""
    events = [real_event(shared_dir), real_event(shared_dir, "run00138632-evt000031747601-BRONZE.json")]
    results = Ingestor(app).ingest_batch([raw(envelope(event)) for event in events])
    assert [r.status for r in results] == ["processed", "processed"]
    drain(app)


def localize_first_real_alert(app: App, shared_dir: Path, scan_json: bytes) -> None:
    """Both real alerts sent, then IceCube-220524A (alert 1) localized with ``scan_json`` and Rev 1 sent."""
    replay_real_alerts(app, shared_dir)
    mark_localization_pending(app, 1)
    localize_alert(app, 1, scan_json, scan_ref="scan:1:final")
    drain(app)


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def settings_for(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"data_dir": tmp_path / "data", "public_base_url": "https://alerts.example.org/public", **extra}


def records_complete(settings: Settings) -> bool:
    """No alert's record lacks a product the store has sent."""
    app = build_app(settings)
    try:
        with app.sessions() as session:
            return stale_alerts(settings, session) == []
    finally:
        app.close()


def assert_records_hold_every_sent_product(settings: Settings) -> int:
    """Every sent product is in its alert's record exactly once, with its exact bytes, and every
    record verifies (BagIt, checksums, RO-Crate, DataCite schema). Returns the number of records."""
    app = build_app(settings)
    try:
        with app.sessions() as session:
            alerts = list(session.execute(select(Alert)).scalars())
            sent = session.execute(
                select(OutboxRow.alert_id, OutboxRow.id, OutboxRow.payload).where(
                    OutboxRow.state == OutboxState.SENT
                )
            ).all()
    finally:
        app.close()
    by_alert: dict[int, dict[int, bytes]] = {}
    for alert_id, row_id, payload in sent:
        assert alert_id is not None  # the simulated alerts' products all belong to an alert
        by_alert.setdefault(alert_id, {})[row_id] = payload
    for alert in alerts:
        folder = settings.archive_root / (alert.name or f"{alert.run_id}_{alert.event_id}")
        index = json.loads((folder / "data" / "record.json").read_bytes())
        ids = [entry["outbox_id"] for entry in index["sent"]]
        assert sorted(ids) == sorted(by_alert.get(alert.id, {})), alert.name
        assert len(ids) == len(set(ids))
        for entry in index["sent"]:
            assert (folder / "data" / entry["file"]).read_bytes() == by_alert[alert.id][entry["outbox_id"]]
        problems = verify_record(folder)
        assert problems == [], (folder, problems)
    return len(alerts)
