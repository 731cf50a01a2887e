"""A service restart: scans that were running are run again from the start (kill -9 and
SIGTERM), and finish with a complete final result under their original id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scanner_client import ScanState
from tests.scanner_contract.conftest import (
    LONG_NSIDES,
    Service,
    dummy_request,
    service_env,
    wait_for,
)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill", "terminate"])
def test_running_scan_is_run_again_after_a_restart(
    make_database: Callable[[], str], real_event: dict[str, Any], how: str
) -> None:
    database = make_database()
    first = Service(database, service_env()).start()
    try:
        with first.client() as client:
            scan_id = client.launch_scan(dummy_request(real_event, LONG_NSIDES)).scan_id
            wait_for(client, scan_id, lambda s: s.state is ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED)
            before = client.get_manifest(scan_id)
        first.kill() if how == "kill" else first.stop()
    finally:
        first.stop()
    second = Service(database, service_env()).start()
    try:
        with second.client() as client:
            status, _ = wait_for(client, scan_id, lambda s: s.scan_complete, timeout_s=120)
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
