"""Real scan lifecycles through ``skyscan serve`` (the engine with the dummy reco): states,
partial and final results, abort, failure, rescan and replacement.

Milestones are checked without racing the machine: the dummy reco's gate holds a scan after N
pixels (or before its first), the test looks at the scan there, then releases it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from scanner_client import ReplacedError, ScanResult, ScanState, SkyDriverClient
from tests.scanner_contract.conftest import (
    HELD_PIXEL_TIME_S,
    LONG_NSIDES,
    SHORT_NSIDES,
    Service,
    dummy_request,
    pixels_done,
    service_env,
    wait_for_scan,
)
from tests.support.pixel_gate import PixelGate
from tests.waiting import wait_for

BROKER_URL = os.environ.get("SKYSCAN_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672/")

ORDER = [
    ScanState.PENDING__PRESTARTUP,
    ScanState.PENDING__WAITING_ON_SCANNER_SERVER_STARTUP,
    ScanState.IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO,
    ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED,
    ScanState.SCAN_HAS_FINAL_RESULT,
]


@pytest.fixture(scope="module")
def service(make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The module's service, with a gate and a dummy reco that fits at once: the gate, not a delay
    per pixel, holds the scans a test looks at."""
    gate_dir = tmp_path_factory.mktemp("gate")
    running = Service(
        make_database(), service_env(DUMMY_GATE_DIR=gate_dir, RECO_OPTIONS={"dummy": {}})
    ).start()
    try:
        yield running
    finally:
        running.stop()


def held_request(event: dict[str, Any], nsides: dict[int, int], **extra: Any) -> Any:
    """A dummy scan that may wait at the gate for as long as a test needs (a wait is fit time)."""
    return dummy_request(event, nsides, HELD_PIXEL_TIME_S, **extra)


def partial_result_of(client: SkyDriverClient, scan_id: str, pixels: int) -> ScanResult:
    """Waits for the scan's partial result of exactly ``pixels`` pixels (results are PUT periodically)."""

    def found() -> ScanResult | None:
        result = client.get_result(scan_id)
        return result if result is not None and result.skyscan_result.n_pixels == pixels else None

    return wait_for(found, 60, f"a partial result of {pixels} pixels of scan {scan_id}")


def check_held_then_final(client: SkyDriverClient, gate: PixelGate, scan_id: str, held_at: int) -> None:
    """The scan, held by the gate after ``held_at`` fits: its progress, state and partial result say
    so; released, it ends with a final result holding the partial one's pixels and more."""
    wait_for(lambda: pixels_done(client, scan_id) == held_at, 60, f"progress reporting {held_at} pixels")
    wait_for(lambda: gate.waiting(scan_id, held_at), 60, "a fit waiting at the gate")
    partial = partial_result_of(client, scan_id, held_at)
    assert not partial.is_final and not partial.skyscan_result.complete
    status = client.get_status(scan_id)
    assert status.state is ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED and not status.scan_complete
    manifest = client.get_manifest(scan_id)
    assert manifest.progress is not None and not manifest.progress.processing_stats.finished
    assert pixels_done(client, scan_id) == held_at  # nothing passes a closed gate

    gate.release()
    wait_for_scan(client, scan_id, lambda s: s.scan_complete)
    final = client.get_result(scan_id)
    assert final is not None and final.is_final and final.skyscan_result.complete
    assert final.skyscan_result.n_pixels > held_at
    first = min(partial.skyscan_result.nsides)
    assert set(partial.skyscan_result.at(first).indices) <= set(final.skyscan_result.at(first).indices)
    assert pixels_done(client, scan_id) == final.skyscan_result.n_pixels


def test_a_scan_goes_through_the_states_to_its_final_result(
    client: SkyDriverClient, gate: PixelGate, real_event: dict[str, Any]
) -> None:
    gate.hold(0)  # every scan waits before its first pixel
    blocker = client.launch_scan(held_request(real_event, SHORT_NSIDES)).scan_id
    wait_for_scan(client, blocker, lambda s: s.state is ScanState.IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO)
    scan_id = client.launch_scan(held_request(real_event, {1: 0, 2: 12, 4: 12})).scan_id
    states: list[str] = []
    # the service's only scan slot is taken: the scan waits in the backlog
    wait_for_scan(client, scan_id, lambda s: s.state is ScanState.PENDING__PRESTARTUP, states=states)
    client.delete_scan(blocker)
    wait_for_scan(client, blocker, lambda s: s.ewms_deactivated is not None)
    wait_for_scan(
        client,
        scan_id,
        lambda s: s.state is ScanState.IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO,
        states=states,
    )
    wait_for(lambda: gate.fits(scan_id) == 1, 60, "the one worker's first fit at the gate")
    assert client.get_result(scan_id) is None and pixels_done(client, scan_id) == 0

    gate.hold(5)
    wait_for_scan(
        client, scan_id, lambda s: s.state is ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED, states=states
    )
    partial = partial_result_of(client, scan_id, 5)
    assert not partial.is_final and partial.skyscan_result.nsides == [1]

    gate.release()
    status = wait_for_scan(client, scan_id, lambda s: s.scan_complete, states=states)
    seen = [ScanState(s) for s in states]
    assert [ORDER.index(s) for s in seen] == sorted(ORDER.index(s) for s in seen), seen
    milestones = [
        ScanState.PENDING__PRESTARTUP,
        ScanState.IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO,
        ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED,
        ScanState.SCAN_HAS_FINAL_RESULT,
    ]
    assert [s for s in seen if s in milestones] == milestones, seen
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


def test_partial_results_are_posted_while_scanning(
    client: SkyDriverClient, gate: PixelGate, real_event: dict[str, Any]
) -> None:
    gate.hold(8)
    scan_id = client.launch_scan(held_request(real_event, SHORT_NSIDES)).scan_id
    check_held_then_final(client, gate, scan_id, 8)


@pytest.fixture
def rabbitmq_service(make_database: Callable[[], str], tmp_path: Path) -> Iterator[Service]:
    """``skyscan serve`` whose pixels go through the real RabbitMQ broker to two ``skyscan worker``
    processes it starts (on a task queue of this test, deleted afterwards), with a gate."""
    queue = f"skyscan.test.{uuid.uuid4().hex[:12]}"
    (tmp_path / "gate").mkdir()
    env = service_env(
        POOL_KIND="rabbitmq",
        BROKER_URL=BROKER_URL,
        TASK_QUEUE=queue,
        WORKERS=2,
        DUMMY_GATE_DIR=tmp_path / "gate",
    )
    running = Service(make_database(), env).start()
    try:
        yield running
    finally:
        running.gate.release()
        running.stop()
        connection = pika.BlockingConnection(pika.URLParameters(BROKER_URL))
        try:
            connection.channel().queue_delete(queue=queue)
        finally:
            connection.close()


def test_a_scan_over_rabbitmq_holds_at_the_gate_until_released(
    rabbitmq_service: Service, real_event: dict[str, Any]
) -> None:
    gate = rabbitmq_service.gate
    gate.hold(5)  # within nside 1, whose 12 tasks go one per message: 5 outcomes come back
    with rabbitmq_service.client() as client:
        scan_id = client.launch_scan(held_request(real_event, SHORT_NSIDES)).scan_id
        check_held_then_final(client, gate, scan_id, 5)


def test_delete_aborts_a_running_scan(
    client: SkyDriverClient, gate: PixelGate, real_event: dict[str, Any]
) -> None:
    gate.hold(3)
    scan_id = client.launch_scan(held_request(real_event, LONG_NSIDES)).scan_id
    wait_for(lambda: pixels_done(client, scan_id) == 3, 60, "the scan to run up to the gate")
    deleted = client.delete_scan(scan_id)
    assert deleted.manifest.is_deleted
    status = wait_for_scan(client, scan_id, lambda s: s.scan_state.startswith("ABORTED__"))
    assert status.ewms_deactivated == "ABORTED" and not status.scan_complete
    wait_for_scan(client, scan_id, lambda s: s.ewms_workforce.get("n_running") == 0)
    stopped_at = client.get_manifest(scan_id, include_deleted=True).last_updated
    # open the gate, then run a scan to its end in the service's only slot: it starts only once the
    # deleted scan's thread has ended, and a deleted scan still running would go on past the gate
    gate.release()
    after = client.launch_scan(dummy_request(real_event, {1: 0})).scan_id
    wait_for_scan(client, after, lambda s: s.scan_complete)
    stopped = client.get_manifest(scan_id, include_deleted=True)
    assert stopped.last_updated == stopped_at
    assert stopped.progress is not None and stopped.progress.tallies["overall"]["pixels"]["done"] == 3
    with pytest.raises(Exception, match="deleted"):
        client.get_result(scan_id)


def test_a_failing_scan_ends_finished_without_result(client: SkyDriverClient) -> None:
    bad_event = {"value": {"data": {"run_id": "not a number"}}}
    scan_id = client.launch_scan(dummy_request(bad_event, SHORT_NSIDES)).scan_id
    status = wait_for_scan(client, scan_id, lambda s: s.ewms_deactivated is not None)
    assert status.scan_state.startswith("FINISHED__") and not status.scan_complete
    assert status.ewms_workforce["top_errors"], status
    assert client.get_result(scan_id) is None


def test_rescan_with_replace_redirects_the_old_id(
    client: SkyDriverClient, real_event: dict[str, Any]
) -> None:
    replaced: list[tuple[str, str]] = []
    client.on_replaced = lambda old, new: replaced.append((old, new))
    old = client.launch_scan(
        dummy_request(real_event, SHORT_NSIDES, classifiers={"tag": "rescan-me"})
    ).scan_id
    wait_for_scan(client, old, lambda s: s.scan_complete)
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
    wait_for_scan(client, new.scan_id, lambda s: s.scan_complete)
    request = client.get_scan_request(new.scan_id)
    assert request.scan_id == old and request.rescan_ids == [new.scan_id]
    kept = client.delete_scan(old, delete_completed_scan=True, no_redirect=True)
    assert kept.manifest.scan_id == old and kept.manifest.is_deleted
    client.on_replaced = None


def test_rescan_abort_first_stops_the_original(
    client: SkyDriverClient, gate: PixelGate, real_event: dict[str, Any]
) -> None:
    gate.hold(2)
    old = client.launch_scan(held_request(real_event, LONG_NSIDES)).scan_id
    wait_for(lambda: pixels_done(client, old) == 2, 60, "the original to run up to the gate")
    new = client.rescan(old, abort_first=True)
    status = wait_for_scan(client, old, lambda s: s.scan_state.startswith("ABORTED__"))
    assert status.is_deleted
    assert client.get_manifest(old, include_deleted=True).replaced_by_scan_id is None
    client.delete_scan(new.scan_id)
    wait_for_scan(client, new.scan_id, lambda s: s.is_deleted)


def test_backlog_launches_higher_priority_first(
    client: SkyDriverClient, gate: PixelGate, real_event: dict[str, Any]
) -> None:
    gate.hold(0)  # every scan waits before its first pixel
    blocker = client.launch_scan(held_request(real_event, {1: 0})).scan_id
    wait_for_scan(client, blocker, lambda s: s.scan_state.startswith("IN_PROGRESS__"))
    low = client.launch_scan(held_request(real_event, {1: 0}, priority=0)).scan_id
    high = client.launch_scan(held_request(real_event, {1: 0}, priority=100)).scan_id
    client.delete_scan(blocker)  # frees the only slot: the backlog launches one of the two
    wait_for_scan(client, high, lambda s: s.scan_state.startswith("IN_PROGRESS__"))
    # the realtime scan was launched first, though younger; the older low-priority one still waits
    assert client.get_status(low).state is ScanState.PENDING__PRESTARTUP
    gate.release()
    wait_for_scan(client, high, lambda s: s.scan_complete)
    wait_for_scan(client, low, lambda s: s.scan_complete)
    high_progress = client.get_manifest(high).progress
    low_progress = client.get_manifest(low).progress
    assert high_progress is not None and low_progress is not None
    assert high_progress.start is not None and low_progress.start is not None
    assert high_progress.start <= low_progress.start
