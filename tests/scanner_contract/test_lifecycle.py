"""Real scan lifecycles through ``skyscan serve`` (the engine with the dummy reco): states,
partial and final results, abort, failure, rescan and replacement."""

from __future__ import annotations

import time
from typing import Any

import pytest

from scanner_client import ReplacedError, ScanState, SkyDriverClient
from tests.scanner_contract.conftest import (
    LONG_NSIDES,
    SHORT_NSIDES,
    dummy_request,
    wait_for,
)
from tests.scanner_contract.helpers import occupied

ORDER = [
    ScanState.PENDING__PRESTARTUP,
    ScanState.PENDING__WAITING_ON_SCANNER_SERVER_STARTUP,
    ScanState.IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO,
    ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED,
    ScanState.SCAN_HAS_FINAL_RESULT,
]


@pytest.mark.slow
def test_a_scan_goes_through_the_states_to_its_final_result(
    client: SkyDriverClient, real_event: dict[str, Any]
) -> None:
    with occupied(client, real_event):
        scan_id = client.launch_scan(dummy_request(real_event, {1: 0, 2: 12, 4: 12})).scan_id
        assert client.get_status(scan_id).state is ScanState.PENDING__PRESTARTUP
        partial_seen = False
    while True:
        status, seen = wait_for(client, scan_id, lambda s: s.scan_state != ScanState.PENDING__PRESTARTUP)
        result = client.get_result(scan_id)
        partial_seen = partial_seen or (result is not None and not result.is_final)
        if status.scan_complete:
            break
    status, seen = wait_for(client, scan_id, lambda s: s.scan_complete)
    states = [ScanState(s) for s in seen]
    assert [ORDER.index(s) for s in states] == sorted(ORDER.index(s) for s in states), seen
    assert ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED in states or partial_seen, seen
    manifest = client.get_manifest(scan_id)
    assert manifest.event_metadata is not None
    assert (manifest.event_metadata.run_id, manifest.event_metadata.event_id) == (138632, 31747601)
    assert manifest.scan_metadata is not None and manifest.progress is not None
    assert manifest.ewms_workflow_id not in (None, "not-yet-requested")
    result = client.get_result(scan_id)
    assert result is not None and result.is_final and result.scan_id == scan_id
    sky = result.skyscan_result
    assert sky.nsides == [1, 2, 4] and sky.complete
    assert len(sky.at(1).data) == 12 and len(set(sky.at(2).indices)) == len(sky.at(2).data)
    assert sky.best_fit() is not None
    assert status.ewms_deactivated == "FINISHED" and not status.is_deleted


@pytest.mark.slow
def test_partial_results_are_posted_while_scanning(
    client: SkyDriverClient, real_event: dict[str, Any]
) -> None:
    scan_id = client.launch_scan(dummy_request(real_event, LONG_NSIDES)).scan_id
    wait_for(
        client,
        scan_id,
        lambda s: s.scan_complete or s.state is ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED,
    )
    partial = None
    while partial is None or partial.is_final:
        partial = client.get_result(scan_id)
        if partial is not None and partial.is_final:
            pytest.fail("the scan finished before any partial result was seen")
    assert not partial.skyscan_result.complete
    client.delete_scan(scan_id)
    final_status, _ = wait_for(client, scan_id, lambda s: s.ewms_deactivated is not None)
    assert final_status.scan_state.startswith("ABORTED__") and final_status.is_deleted


def test_delete_aborts_a_running_scan(client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    scan_id = client.launch_scan(dummy_request(real_event, LONG_NSIDES)).scan_id
    wait_for(client, scan_id, lambda s: s.scan_state.startswith("IN_PROGRESS__"))
    deleted = client.delete_scan(scan_id)
    assert deleted.manifest.is_deleted
    status, _ = wait_for(client, scan_id, lambda s: s.scan_state.startswith("ABORTED__"))
    assert status.ewms_deactivated == "ABORTED" and not status.scan_complete
    wait_for(client, scan_id, lambda s: s.ewms_workforce.get("n_running") == 0)
    stopped_at = client.get_manifest(scan_id, include_deleted=True).last_updated
    time.sleep(1.0)  # several progress intervals: a scan still running would have reported
    assert client.get_manifest(scan_id, include_deleted=True).last_updated == stopped_at
    with pytest.raises(Exception, match="deleted"):
        client.get_result(scan_id)


def test_a_failing_scan_ends_finished_without_result(client: SkyDriverClient) -> None:
    bad_event = {"value": {"data": {"run_id": "not a number"}}}
    scan_id = client.launch_scan(dummy_request(bad_event, SHORT_NSIDES)).scan_id
    status, _ = wait_for(client, scan_id, lambda s: s.ewms_deactivated is not None)
    assert status.scan_state.startswith("FINISHED__") and not status.scan_complete
    assert status.ewms_workforce["top_errors"], status
    assert client.get_result(scan_id) is None


@pytest.mark.slow
def test_rescan_with_replace_redirects_the_old_id(
    client: SkyDriverClient, real_event: dict[str, Any]
) -> None:
    replaced: list[tuple[str, str]] = []
    client.on_replaced = lambda old, new: replaced.append((old, new))
    old = client.launch_scan(
        dummy_request(real_event, SHORT_NSIDES, classifiers={"tag": "rescan-me"})
    ).scan_id
    wait_for(client, old, lambda s: s.scan_complete)
    new = client.rescan(old, replace_scan=True)
    assert new.scan_id != old
    assert new.classifiers["rescan"] is True and new.classifiers["origin_scan_id"] == old
    assert new.classifiers["tag"] == "rescan-me"

    followed = client.get_manifest(old)
    assert followed.scan_id == new.scan_id and replaced == [(old, new.scan_id)]
    with pytest.raises(ReplacedError) as caught:
        client.get_status(old, follow_replaced=False)
    assert caught.value.status == 302 and caught.value.new_scan_id == new.scan_id
    assert f"/scan/{new.scan_id}/status" in caught.value.location
    with pytest.raises(ReplacedError):  # mutating calls never follow
        client.delete_scan(old, delete_completed_scan=True)
    assert client.get_manifest(old, no_redirect=True).replaced_by_scan_id == new.scan_id
    wait_for(client, new.scan_id, lambda s: s.scan_complete)
    request = client.get_scan_request(new.scan_id)
    assert request.scan_id == old and request.rescan_ids == [new.scan_id]
    kept = client.delete_scan(old, delete_completed_scan=True, no_redirect=True)
    assert kept.manifest.scan_id == old and kept.manifest.is_deleted
    client.on_replaced = None


def test_rescan_abort_first_stops_the_original(client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    old = client.launch_scan(dummy_request(real_event, LONG_NSIDES)).scan_id
    wait_for(client, old, lambda s: s.scan_state.startswith("IN_PROGRESS__"))
    new = client.rescan(old, abort_first=True)
    status, _ = wait_for(client, old, lambda s: s.scan_state.startswith("ABORTED__"))
    assert status.is_deleted
    assert client.get_manifest(old, include_deleted=True).replaced_by_scan_id is None
    client.delete_scan(new.scan_id)
    wait_for(client, new.scan_id, lambda s: s.is_deleted)


@pytest.mark.slow
def test_backlog_launches_higher_priority_first(client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    with occupied(client, real_event):
        low = client.launch_scan(dummy_request(real_event, {1: 0}, priority=0)).scan_id
        high = client.launch_scan(dummy_request(real_event, {1: 0}, priority=100)).scan_id
    wait_for(client, high, lambda s: s.scan_complete)
    low_status = client.get_status(low)
    high_manifest = client.get_manifest(high)
    assert high_manifest.progress is not None
    # the realtime scan was launched first: when it finished, the older low-priority one had not
    assert low_status.state in (
        ScanState.PENDING__PRESTARTUP,
        ScanState.PENDING__WAITING_ON_SCANNER_SERVER_STARTUP,
        ScanState.IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO,
        ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED,
    ), low_status.scan_state
    wait_for(client, low, lambda s: s.scan_complete)
