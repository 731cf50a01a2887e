"""The hand-off of final results to the skymap step: durable, retried, and given up after a limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from skymist.cli.main import main
from skymist.ingest.inbox import Ingestor
from skymist.runtime.lifecycle import localize_consumer
from skymist.scans.handoff import Handoff
from skymist.states import AlertState, ScanState
from skymist.store.models import Alert, OutboxRow
from skymist.store.scan_models import Scan
from tests.helpers import envelope, raw, real_event
from tests.scans.conftest import scan_settings


def test_a_result_that_cannot_be_localized_is_given_up_and_shifters_told_once(
    database_url: str, app_factory: Any, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory(
        **scan_settings("http://127.0.0.1:9", slack_mode="console", handoff_max_attempts=2), data_dir=tmp_path
    )
    Ingestor(app).ingest_batch([raw(envelope(real_event(shared_dir)))])
    with app.sessions() as session, session.begin():  # a final result the skymap step cannot read
        session.execute(
            update(Scan).values(
                state=ScanState.FINAL,
                backend_scan_id="0" * 11 + "x" + "0" * 20,
                result=b'{"skyscan_result": {"nside-8": {"columns": ["index"]}}}',
            )
        )
        session.execute(update(Alert).values(state=AlertState.LOCALIZED_PENDING))
    consumer = localize_consumer()
    assert consumer is not None
    handoff = Handoff(app, [consumer])
    for _ in range(4):
        handoff.sweep()
    with app.sessions() as session:
        scan = session.execute(select(Scan)).scalar_one()
        told = session.execute(
            select(OutboxRow).where(OutboxRow.product == "slack_scan_skymap_failed")
        ).scalars()
        assert scan.handoff_attempts == 2 and scan.handoff_error  # not retried forever
        assert len(list(told)) == 1
        assert session.execute(select(Alert.state)).scalar_one() == AlertState.LOCALIZED_PENDING
    assert main(["--database-url", database_url, "scans", "localize", str(scan.id)]) == 1
    assert "failed again" in capsys.readouterr().out
