"""The wire contract of ``skyscan serve``, driven through ``scanner_client`` over real HTTP:
routes, manifest keys and order, scan ids, errors and their codes, auth and roles, and the
system routes a scanner reports through."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from scanner_client import (
    MANIFEST_KEYS,
    AuthError,
    BadRequestError,
    LaunchScanRequest,
    NotFoundError,
    ScannerValidationError,
    ScanState,
    SkyDriverClient,
    SkyscanResult,
)
from tests.scanner_contract.conftest import (
    SHORT_NSIDES,
    SYSTEM_TOKEN,
    Service,
    dummy_request,
    shared_dir,
    wait_for,
)
from tests.scanner_contract.helpers import design_manifest_keys, occupied

SCAN_ID = re.compile(r"[0-9a-f]{11}x[0-9a-f]{20}")


def reference(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((shared_dir() / "reference" / name).read_text())
    return body


def test_design_lists_the_manifest_keys_the_client_knows() -> None:
    assert design_manifest_keys() == list(MANIFEST_KEYS)


@pytest.mark.slow
def test_launch_answers_a_manifest_with_every_key_in_order(
    client: SkyDriverClient, real_event: dict[str, Any]
) -> None:
    request = dummy_request(real_event, SHORT_NSIDES, priority=7, classifiers={"purpose": "contract"})
    raw = client.send("POST", "/scan", body=request.to_body())
    assert list(raw) == design_manifest_keys()
    assert SCAN_ID.fullmatch(raw["scan_id"]), raw["scan_id"]
    assert raw["priority"] == 7 and raw["classifiers"] == {"purpose": "contract"}
    assert raw["is_deleted"] is False and raw["ewms_workflow_id"] == "not-yet-requested"
    stored = client.send("GET", f"/scan/{raw['scan_id']}/manifest", idempotent=True)
    assert list(stored) == design_manifest_keys()
    assert stored["i3_event_id"] == raw["i3_event_id"]
    assert client.get_i3_event(raw["scan_id"]) == real_event
    both = client.get_scan(raw["scan_id"])
    assert both.manifest.scan_id == raw["scan_id"]
    wait_for(client, raw["scan_id"], lambda s: s.scan_complete)


@pytest.mark.slow
def test_scan_ids_sort_by_time_and_are_unique(client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    first = client.launch_scan(dummy_request(real_event, {1: 0}))
    second = client.launch_scan(dummy_request(real_event, {1: 0}))
    assert first.scan_id < second.scan_id
    assert int(first.scan_id[:11], 16) == pytest.approx(first.timestamp * 1000, abs=5)
    for manifest in (first, second):
        wait_for(client, manifest.scan_id, lambda s: s.scan_complete)


def test_openapi_document_lists_every_route(client: SkyDriverClient) -> None:
    document = client.send("GET", "/openapi.json", idempotent=True)
    paths = document["paths"]
    expected = {
        "/scan": {"post"},
        "/scans/find": {"post"},
        "/scan/{scan_id}": {"get", "delete"},
        "/scan/{scan_id}/manifest": {"get", "patch"},
        "/scan/{scan_id}/status": {"get"},
        "/scan/{scan_id}/result": {"get", "put"},
        "/scan/{scan_id}/actions/rescan": {"post"},
        "/scan-request/{scan_id}": {"get"},
        "/scan/{scan_id}/i3-event": {"get"},
        "/scan/{scan_id}/ewms/workflow-id": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), (path, sorted(paths.get(path, {})))


def test_scan_request_is_stored_as_posted(client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    request = dummy_request(real_event, SHORT_NSIDES, worker_memory="2GB", classifiers={"k": "v"})
    manifest = client.launch_scan(request, request_key="req-stored-1")
    stored = client.get_scan_request(manifest.scan_id)
    assert stored.scan_id == manifest.scan_id and stored.rescan_ids == []
    assert stored.nsides == {"1": 0, "2": 4} and stored.reco_algo == "dummy"
    assert stored.classifiers == {"k": "v", "skymist_req": "req-stored-1"}
    extra = stored.model_extra or {}
    assert extra["worker_memory_bytes"] == 2_000_000_000 and extra["request_clusters"] == [["local", 1]]
    wait_for(client, manifest.scan_id, lambda s: s.scan_complete)


def test_unknown_field_is_refused_with_the_servers_message(
    client: SkyDriverClient, real_event: dict[str, Any]
) -> None:
    body = {**dummy_request(real_event, SHORT_NSIDES).to_body(), "colour": "blue"}
    with pytest.raises(BadRequestError) as caught:
        client.send("POST", "/scan", body=body)
    assert caught.value.status == 400 and caught.value.code == 400
    assert "unrecognized arguments: colour" in caught.value.message
    with pytest.raises(ValidationError, match="colour"):
        LaunchScanRequest(**{**dummy_request(real_event, SHORT_NSIDES).model_dump(), "colour": "blue"})


@pytest.mark.parametrize(
    ("nsides", "words"),
    [
        ({"8": 0, "4": 12}, "greater than"),
        ({"8": 3}, "first nside's pixel extension must be 0"),
        ({"8": 0, "12": 4}, "not a power of two"),
        ({"8": 0, "64": 0}, "must be positive"),
    ],
)
def test_bad_nsides_are_refused_by_client_and_server(
    client: SkyDriverClient, real_event: dict[str, Any], nsides: dict[str, int], words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        dummy_request(real_event, nsides)  # type: ignore[arg-type]
    body = {**dummy_request(real_event, SHORT_NSIDES).to_body(), "nsides": nsides}
    with pytest.raises(BadRequestError) as caught:
        client.send("POST", "/scan", body=body)
    assert words in caught.value.message and "nsides" in caught.value.message


def test_other_client_side_rules(real_event: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="unknown algorithm 'nonsense'"):
        dummy_request(real_event, SHORT_NSIDES).model_copy().model_validate(
            {**dummy_request(real_event, SHORT_NSIDES).model_dump(), "reco_algo": "nonsense"}
        )
    with pytest.raises(ValidationError, match=r"must be > 0.1"):
        dummy_request(real_event, SHORT_NSIDES, predictive_scanning_threshold=0.1)
    with pytest.raises(ValidationError, match="longer than 25"):
        dummy_request(real_event, SHORT_NSIDES, classifiers={"k": "x" * 26})
    with pytest.raises(ValidationError, match="at most 25 entries"):
        dummy_request(real_event, SHORT_NSIDES, classifiers={f"k{i}": i for i in range(26)})
    with pytest.raises(ValidationError, match="reserved for rescans"):
        dummy_request(real_event, SHORT_NSIDES, classifiers={"rescan": True})
    full = dummy_request(real_event, SHORT_NSIDES, classifiers={f"k{i}": i for i in range(25)})
    with pytest.raises(ScannerValidationError, match="classifiers"):
        SkyDriverClient("http://127.0.0.1:9").launch_scan(full)  # no room for the request key: nothing sent


def test_server_side_rules_name_field_and_value(client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    base = dummy_request(real_event, SHORT_NSIDES).to_body()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"reco_algo": "millipede_wilks"}, "reco_algo: unknown algorithm 'millipede_wilks'"),
        ({"predictive_scanning_threshold": 0.05}, "must be > 0.1"),
        ({"cluster": {"mars": 3}}, "requested unknown cluster: mars"),
        ({"request_clusters": {"osg": 3}}, "Provide only one value for 'request_clusters'"),
        ({"classifiers": {"k": "x" * 26}}, "longer than 25"),
        ({"i3_event_id": "abc"}, "either 'event_i3live_json' or 'i3_event_id'"),
    ]
    for change, words in cases:
        with pytest.raises(BadRequestError) as caught:
            client.send("POST", "/scan", body={**base, **change})
        assert words in caught.value.message, (change, caught.value.message)


def test_unknown_scan_is_404_everywhere(client: SkyDriverClient, system_client: SkyDriverClient) -> None:
    missing = "0" * 11 + "x" + "0" * 20
    calls: list[Callable[[], object]] = [
        lambda: client.get_manifest(missing),
        lambda: client.get_status(missing),
        lambda: client.get_result(missing),
        lambda: client.get_scan(missing),
        lambda: client.get_i3_event(missing),
        lambda: client.get_scan_request(missing),
        lambda: client.delete_scan(missing),
        lambda: client.rescan(missing),
        lambda: system_client.patch_manifest(
            missing, progress=reference("example_PATCH_manifest_body_start.json")["progress"]
        ),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.status == 404 and missing in caught.value.message


def test_tokens_and_roles(service: Service, client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    scan_id = client.launch_scan(dummy_request(real_event, {1: 0})).scan_id
    with SkyDriverClient(service.url) as anonymous, service.client(token="not-a-token") as stranger:
        for who in (anonymous, stranger):
            with pytest.raises(AuthError) as caught:
                who.get_status(scan_id)
            assert caught.value.status == 403 and caught.value.message == "authentication failed"
    with pytest.raises(AuthError) as caught:
        client.patch_manifest(scan_id, scan_metadata={"x": 1})
    assert caught.value.status == 403 and caught.value.message == "authorization failed"
    with pytest.raises(AuthError, match="authorization failed"):
        client.put_result(scan_id, reference("example_skyscan_result_final_nside1.json"), is_final=True)
    with pytest.raises(AuthError, match="authorization failed"):
        client.set_workflow_id(scan_id, "wf", "addr")
    with service.client(token=SYSTEM_TOKEN) as system:
        with pytest.raises(AuthError, match="authorization failed"):
            system.launch_scan(dummy_request(real_event, {1: 0}))
        assert system.get_status(scan_id).is_deleted is False  # status is open to both roles
    wait_for(client, scan_id, lambda s: s.scan_complete)


def test_an_external_scanner_reports_through_the_system_routes(
    client: SkyDriverClient, system_client: SkyDriverClient, real_event: dict[str, Any]
) -> None:
    """A scanner other than the service's own takes a queued scan (as SkyDriver's ewms-init and
    scanner server do) and walks it through every non-final state to its final result."""
    start = reference("example_PATCH_manifest_body_start.json")
    midscan = reference("example_PATCH_manifest_body_midscan.json")
    final_result = reference("example_skyscan_result_final_nside1.json")
    with occupied(client, real_event):
        scan_id = client.launch_scan(dummy_request(real_event, {1: 0})).scan_id
        assert client.get_status(scan_id).state is ScanState.PENDING__PRESTARTUP
        manifest = system_client.set_workflow_id(scan_id, "external-wf-1", "https://ewms.example")
        assert manifest.ewms_workflow_id == "external-wf-1"
        assert client.get_status(scan_id).state is ScanState.PENDING__WAITING_ON_SCANNER_SERVER_STARTUP
        with pytest.raises(NotFoundError):  # only once
            system_client.set_workflow_id(scan_id, "external-wf-2", "https://ewms.example")
        # the scanner reads the event from the manifest, as SkyDriver's scanner does
        assert system_client.get_manifest(scan_id).event_i3live_json_dict == real_event
        assert client.get_manifest(scan_id).event_i3live_json_dict == "use 'i3_event_id'"

        patched = system_client.patch_manifest(scan_id, **start)
        assert patched.event_metadata is not None and patched.event_metadata.run_id == 138632
        assert client.get_status(scan_id).state is ScanState.IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO
        with pytest.raises(BadRequestError, match="Cannot change an existing event_metadata"):
            system_client.patch_manifest(scan_id, event_metadata=midscan["event_metadata"])
        with pytest.raises(BadRequestError, match="progress"):
            system_client.patch_manifest(scan_id, progress={"summary": "no tallies"})
        patched = system_client.patch_manifest(scan_id, progress=midscan["progress"])
        assert patched.progress is not None and patched.progress.processing_stats.rate
        assert client.get_status(scan_id).state is ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED
        assert client.get_result(scan_id) is None

        partial = json.loads(json.dumps(final_result).replace('"complete": true', '"complete": false'))
        stored = system_client.put_result(scan_id, partial, is_final=False)
        assert stored is not None and not stored.is_final
        assert client.get_status(scan_id).state is ScanState.IN_PROGRESS__PARTIAL_RESULT_GENERATED
        stored = system_client.put_result(scan_id, SkyscanResult.model_validate(final_result), is_final=True)
        assert stored is not None and stored.is_final
        status = client.get_status(scan_id)
        assert status.state is ScanState.SCAN_HAS_FINAL_RESULT and status.scan_complete
        result = client.get_result(scan_id)
        assert result is not None and result.skyscan_result.at(1).column("llh")[:2] == [1177.27, 1178.27]
        raw = client.send("GET", f"/scan/{scan_id}/result", idempotent=True)
        assert raw["skyscan_result"]["nside-1"]["data"][0][2] == "<skyreader.nan>"
        with pytest.raises(BadRequestError, match="Attempted to delete a completed scan"):
            client.delete_scan(scan_id)
        deleted = client.delete_scan(scan_id, delete_completed_scan=True)
        assert deleted.manifest.is_deleted and deleted.result is not None


def test_both_nan_encodings_are_read() -> None:
    columns = ["index", "llh", "E_in", "E_tot"]
    meta = {"nside": 1, "complete": True}
    sentinel = '"<skyreader.nan>"'
    for nan in ("NaN", sentinel):
        text = f'{{"nside-1": {{"columns": {json.dumps(columns)}, "metadata": {json.dumps(meta)}, '
        text += f'"data": [[3, 10.5, {nan}, {nan}]]}}}}'
        parsed = SkyscanResult.model_validate(json.loads(text))
        e_in = parsed.at(1).column("E_in")[0]
        assert e_in != e_in  # NaN
        assert parsed.best_fit() == (1, 3, 10.5)
        assert parsed.to_wire()["nside-1"]["data"][0][2] == "<skyreader.nan>"


def test_find_filters_like_mongo(client: SkyDriverClient, real_event: dict[str, Any]) -> None:
    scan = client.launch_scan(dummy_request(real_event, {1: 0}, classifiers={"find_me": "yes"}))
    wait_for(client, scan.scan_id, lambda s: s.scan_complete)
    found = client.find_scans({"classifiers.find_me": "yes"})
    assert [m.scan_id for m in found] == [scan.scan_id]
    assert all(m.event_i3live_json_dict is None for m in found)  # find never returns the event fields
    by_event = client.find_scans(
        {
            "event_metadata.run_id": 138632,
            "event_metadata.event_id": 31747601,
            "event_metadata.is_real_event": True,
        }
    )
    assert scan.scan_id in {m.scan_id for m in by_event}
    fields = client.find_scan_fields(
        {"classifiers.find_me": {"$in": ["yes", "maybe"]}}, ["scan_id", "priority"]
    )
    assert fields == [{"scan_id": scan.scan_id, "priority": 0}]
    with pytest.raises(BadRequestError, match=r"unsupported operator '\$where'"):
        client.find_scans({"$where": "1"})
    with pytest.raises(BadRequestError, match="cannot include"):
        client.find_scan_fields({}, ["event_i3live_json_dict"])
    client.delete_scan(scan.scan_id, delete_completed_scan=True)
    assert client.find_scans({"classifiers.find_me": "yes"}) == []
    assert len(client.find_scans({"classifiers.find_me": "yes"}, include_deleted=True)) == 1
    with pytest.raises(NotFoundError, match="deleted"):
        client.get_manifest(scan.scan_id)
    assert client.get_manifest(scan.scan_id, include_deleted=True).is_deleted
    assert client.get_status(scan.scan_id).is_deleted
