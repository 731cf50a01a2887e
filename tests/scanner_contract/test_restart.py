"""A service restart: scans that were running are run again from the start (kill -9 and
SIGTERM), and finish with a complete final result under their original id. The scan is held by the
dummy reco's gate while the service stops, so it is surely mid-scan whatever the machine's speed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scanner_client import ScanState
from tests.scanner_contract.conftest import (
    HELD_PIXEL_TIME_S,
    LONG_NSIDES,
    Service,
    dummy_request,
    pixels_done,
    service_env,
    wait_for_scan,
)
from tests.waiting import wait_for

HELD_AT = 4


@pytest.mark.parametrize("how", ["kill", "terminate"])
def test_running_scan_is_run_again_after_a_restart(
    make_database: Callable[[], str], real_event: dict[str, Any], tmp_path: Path, how: str
) -> None:
    database = make_database()
    env = service_env(DUMMY_GATE_DIR=tmp_path, RECO_OPTIONS={"dummy": {}})
    first = Service(database, env).start()
    gate = first.gate
    gate.hold(HELD_AT)
    try:
        with first.client() as client:
            scan_id = client.launch_scan(dummy_request(real_event, LONG_NSIDES, HELD_PIXEL_TIME_S)).scan_id
            wait_for(lambda: pixels_done(client, scan_id) == HELD_AT, 60, "the scan to run up to the gate")
            before = client.get_manifest(scan_id)
            assert client.get_status(scan_id).state is ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED
        first.kill() if how == "kill" else first.stop()
    finally:
        first.stop()
    gate.release()
    second = Service(database, env).start()
    try:
        with second.client() as client:
            status = wait_for_scan(client, scan_id, lambda s: s.scan_complete, timeout_s=120)
            after = client.get_manifest(scan_id)
            result = client.get_result(scan_id)
    finally:
        second.stop()
    # run again: a new workflow, progress restarted, and a complete result under the same id
    assert after.ewms_workflow_id != before.ewms_workflow_id
    assert before.progress is not None and after.progress is not None
    assert after.progress.start is not None and before.progress.start is not None
    assert after.progress.start >= before.progress.start
    assert result is not None and result.is_final and result.skyscan_result.complete
    assert result.skyscan_result.nsides == sorted(LONG_NSIDES) and not status.is_deleted
