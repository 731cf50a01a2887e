"""The final-scan value: the hand-off gives each consumer the scan's plan (as stored) and its verbatim
result, read with the pending scans in one database session."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.ingest.inbox import Ingestor
from skymist.scans.handoff import FinalScan, Handoff
from skymist.states import AlertState, ScanState
from skymist.store.models import Alert
from skymist.store.scan_models import Scan
from tests.helpers import envelope, raw, real_event
from tests.scans.conftest import DUMMY_PLAN, scan_settings

RESULT = b'{"skyscan_result": {"nside-8": {"columns": ["index"]}}}'


class CountedSessions:
    """The app's sessions, counted (what the hand-off opens)."""

    def __init__(self, app: App) -> None:
        self.sessions = app.sessions
        self.opened = 0

    def __call__(self) -> Session:
        self.opened += 1
        return self.sessions()


def test_each_consumer_gets_the_plan_and_result_read_in_one_session(
    app_factory: Any, shared_dir: Path, tmp_path: Path
) -> None:
    app = app_factory(**scan_settings("http://127.0.0.1:9"), data_dir=tmp_path)
    Ingestor(app).ingest_batch([raw(envelope(real_event(shared_dir)))])
    with app.sessions() as session, session.begin():
        session.execute(update(Scan).values(state=ScanState.FINAL, backend_scan_id="b" * 32, result=RESULT))
        session.execute(update(Alert).values(state=AlertState.LOCALIZED_PENDING))
        stored_plan = session.execute(select(Scan.plan)).scalar_one()
    counted = CountedSessions(app)
    seen: list[tuple[FinalScan, bytes]] = []

    def consumer(_app: App, final: FinalScan, result: bytes) -> None:
        seen.append((final, result))

    handed = Handoff(dataclasses.replace(app, sessions=counted), [consumer, consumer]).sweep()
    assert handed == 1 and counted.opened == 1
    assert [result for _, result in seen] == [RESULT, RESULT]
    final = seen[0][0]
    assert final.plan == stored_plan and final.plan is not None and final.plan["name"] == DUMMY_PLAN["name"]
    assert final.ref == f"scan:{final.scan_id}:{'b' * 32}"
