"""``skyscan serve`` answers as SkyDriver v2.4.1 does, route by route, over real HTTP.

Written from SkyDriver's documented and observed behaviour (its REST handlers at tag v2.4.1,
run against its own integration suite): status lines carry the error message, its error texts,
auth before bodies, its lifecycle, routes and accepted bodies. Plain ``requests`` here, as a
client written for SkyDriver would use; one service per module (its own PostgreSQL database).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.scanner_contract.conftest import LONG_NSIDES
from tests.support.skyscan_service import SYSTEM_TOKEN, USER_TOKEN, Service, service_env
from tests.waiting import wait_for

USER = {"Authorization": f"Bearer {USER_TOKEN}"}
SYSTEM = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}


def body(event: dict[str, Any], **change: Any) -> dict[str, Any]:
    base = {
        "docker_tag": "latest",
        "cluster": {"local": 1},
        "reco_algo": "dummy",
        "event_i3live_json": event,
        "nsides": {"1": 0},
        "real_or_simulated_event": "real",
        "max_pixel_reco_time": 30,
    }
    return {key: value for key, value in {**base, **change}.items() if value is not ...}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory laid out as SkyDriver's CVMFS image directory."""
    directory = tmp_path_factory.mktemp("cvmfs")
    for tag in ("3.9.0", "4.0.0", "4.1.5", "4.2.1", "my-branch-abc123"):
        (directory / f"skymap_scanner:{tag}").touch()
    return directory


@pytest.fixture(scope="module")
def url(make_database: Callable[[], str], images: Path) -> Iterator[str]:
    """skyscan running scans itself, one at a time, with slow dummy reconstructions."""
    env = service_env(
        SCANNER_IMAGES_DIR=str(images),
        RECO_OPTIONS={"dummy": {"delay_s": 0.2}},
        LOGS_URL_TEMPLATE="https://logs.example/{scan_id}",
    )
    service = Service(make_database(), env).start()
    try:
        yield service.url
    finally:
        service.stop()


@pytest.fixture(scope="module")
def external_url(make_database: Callable[[], str]) -> Iterator[str]:
    """skyscan with external scanners (run_scans false): the test plays the scanner."""
    service = Service(make_database(), service_env(RUN_SCANS="false", BACKLOG_POLL_S=0.2)).start()
    try:
        yield service.url
    finally:
        service.stop()


def status_line(url: str, method: str, path: str, payload: Any, headers: dict[str, str]) -> tuple[int, str]:
    """The status code and reason phrase exactly as sent on the wire."""
    parts = urlsplit(url)
    assert parts.hostname is not None, url
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            method, path, body=json.dumps(payload), headers={**headers, "Content-Type": "application/json"}
        )
        response = conn.getresponse()
        response.read()
        return response.status, response.reason
    finally:
        conn.close()


def launch(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{url}/scan", json=payload, headers=USER, timeout=30)
    assert response.status_code == 200, response.text
    manifest: dict[str, Any] = response.json()
    return manifest


def get(url: str, path: str, headers: dict[str, str] = USER, **params: Any) -> Any:
    response = requests.get(f"{url}{path}", params=params, headers=headers, timeout=30)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.json()


def wait(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    wait_for(check, timeout_s, "the condition")


# ---------------------------------------------------------------------------------- errors


def test_the_reason_phrase_carries_the_error_message(url: str) -> None:
    code, reason = status_line(url, "POST", "/scan", {}, USER)
    assert (code, reason) == (
        400,
        "the following arguments are required: docker_tag, reco_algo, nsides, "
        "real_or_simulated_event, max_pixel_reco_time",
    )
    response = requests.post(f"{url}/scan", json={}, headers=USER, timeout=30)
    with pytest.raises(requests.HTTPError, match="400 Client Error: the following arguments are required"):
        response.raise_for_status()
    assert response.json()["error"] == reason and response.json()["code"] == 400


def test_an_unknown_scan_and_an_unknown_path_are_plain_404(url: str) -> None:
    assert status_line(url, "GET", "/scan/" + "0" * 32 + "/manifest", None, USER) == (404, "Not Found")
    assert status_line(url, "GET", "/event", None, USER) == (404, "Not Found")


def test_launch_errors_in_skydriver_words(url: str, real_event: dict[str, Any]) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (body(real_event, cluster=...), "Missing required argument: 'request_clusters'"),
        (
            body(real_event, event_i3live_json=...),
            "Must provide either 'event_i3live_json' or 'i3_event_id' (xor)",
        ),
        (body(real_event, reco_algo="  "), "argument reco_algo: cannot be empty string / whitespace"),
        (body(real_event, nsides="string"), "argument nsides: arg must be a dict"),
        (
            body(real_event, event_i3live_json=""),
            "argument event_i3live_json: must be JSON-string or JSON-friendly dict",
        ),
        (body(real_event, max_pixel_reco_time="x"), "argument max_pixel_reco_time: invalid type"),
        (
            body(real_event, real_or_simulated_event="x"),
            "argument real_or_simulated_event: invalid choice: 'x'",
        ),
        (body(real_event, cluster={"mars": 1}), "argument cluster: requested unknown cluster: mars"),
        (body(real_event, request_clusters={"local": 2}), "Provide only one value for 'request_clusters'"),
        (body(real_event, classifiers={"rescan": True}), "classifier cannot contain 'rescan' sub-field"),
        (body(real_event, colour="blue", scan_id="x"), "unrecognized arguments: colour, scan_id"),
        (body(real_event, i3_event_id="feed", event_i3live_json={}), "i3 event not found"),
    ]
    for payload, words in cases:
        code, reason = status_line(url, "POST", "/scan", payload, USER)
        assert code == 400 and reason.startswith(words), (payload.keys(), reason)


def test_bad_sizes_and_priorities_are_4xx_naming_the_field(url: str, real_event: dict[str, Any]) -> None:
    for field in ("worker_memory", "worker_disk", "scanner_server_memory_bytes"):
        for value in ("8XB", -5, "1e9999", "9" * 400, 10**400, 1e308):
            code, reason = status_line(url, "POST", "/scan", body(real_event, **{field: value}), USER)
            assert code == 400 and reason.startswith(f"argument {field}: "), (field, value, reason)
    for value in (1e30, -1e30, 10**30, "many"):
        code, reason = status_line(url, "POST", "/scan", body(real_event, priority=value), USER)
        assert code == 400 and reason.startswith("argument priority: "), (value, reason)


def test_the_type_of_each_field_is_checked_in_the_order_sent(url: str, real_event: dict[str, Any]) -> None:
    payload = {"nsides": "x", **body(real_event, nsides=..., max_pixel_reco_time="y")}
    code, reason = status_line(url, "POST", "/scan", payload, USER)
    assert (code, reason) == (400, "argument nsides: arg must be a dict")


def test_auth_comes_before_the_body(url: str) -> None:
    assert status_line(url, "POST", "/scan", {"colour": 1}, {}) == (403, "authentication failed")
    assert status_line(url, "POST", "/scan", {"colour": 1}, SYSTEM) == (403, "authorization failed")
    scan = "0" * 11 + "x" + "0" * 20
    assert status_line(url, "PUT", f"/scan/{scan}/result", {"bad": 1}, USER) == (403, "authorization failed")
    assert status_line(url, "PATCH", f"/scan/{scan}/manifest", "not json", {}) == (
        403,
        "authentication failed",
    )


# ---------------------------------------------------------------------------------- docker_tag


def test_docker_tags_are_resolved_and_checked(url: str, real_event: dict[str, Any]) -> None:
    for given, stored in (
        ("latest", "4.2.1"),
        ("v4", "4.2.1"),
        ("4.1", "4.1.5"),
        ("v4.0.0", "4.0.0"),
        ("my-branch-abc123", "my-branch-abc123"),
    ):
        manifest = launch(url, body(real_event, docker_tag=given))
        assert get(url, f"/scan-request/{manifest['scan_id']}")["docker_tag"] == stored, given
        requests.delete(f"{url}/scan/{manifest['scan_id']}", headers=USER, timeout=30).raise_for_status()
    for given in ("foo", "", "5", "v4.9"):
        assert status_line(url, "POST", "/scan", body(real_event, docker_tag=given), USER) == (
            400,
            "argument docker_tag: image not found",
        ), given
    code, reason = status_line(url, "POST", "/scan", body(real_event, docker_tag="3.9.0"), USER)
    assert code == 400
    assert reason == (
        "argument docker_tag: Image tag is older than the minimum supported tag '4.0.0'. "
        "Contact admins for more info."
    )


def test_the_one_deviation_a_reco_skyscan_cannot_run(url: str, real_event: dict[str, Any]) -> None:
    code, reason = status_line(url, "POST", "/scan", body(real_event, reco_algo="millipede_wilks"), USER)
    assert code == 400
    assert reason.startswith("argument reco_algo: unknown algorithm 'millipede_wilks' for skyscan")


# ---------------------------------------------------------------------------------- bodies


def test_an_empty_event_counts_as_absent_beside_an_event_id(url: str, real_event: dict[str, Any]) -> None:
    first = launch(url, body(real_event, manifest_projection=["*"]))
    assert set(first) >= {"scan_id", "timestamp", "last_updated", "event_i3live_json_dict", "progress"}
    second = launch(url, body(real_event, event_i3live_json={}, i3_event_id=first["i3_event_id"]))
    assert second["i3_event_id"] == first["i3_event_id"] and second["scan_id"] != first["scan_id"]
    assert get(url, f"/scan/{second['scan_id']}/i3-event") == {"i3_event": real_event}
    assert launch(url, body(real_event, manifest_projection=["scan_id"])).keys() == {"scan_id"}


def test_a_new_scan_was_updated_after_its_timestamp(url: str, real_event: dict[str, Any]) -> None:
    manifest = launch(url, body(real_event))
    assert manifest["timestamp"] < manifest["last_updated"]
    assert manifest["ewms_workflow_id"] == "not-yet-requested" and manifest["ewms_address"] is None


# ---------------------------------------------------------------------------------- lifecycle and routes


def test_the_logs_of_every_scan_are_a_string_naming_it(external_url: str, real_event: dict[str, Any]) -> None:
    """As SkyDriver without its Grafana address: a string that differs for each scan (no template set)."""
    old = launch(external_url, body(real_event))["scan_id"]
    new = requests.post(
        f"{external_url}/scan/{old}/actions/rescan", json={"replace_scan": True}, headers=USER, timeout=30
    )
    assert new.status_code == 200, new.text
    new_id = new.json()["scan_id"]
    urls = [
        get(external_url, f"/scan/{scan_id}/logs", no_redirect=True)["scanner_server"]["url"]
        for scan_id in (old, new_id)
    ]
    assert urls == [f"?scan_id={old}", f"?scan_id={new_id}"]
    status = get(external_url, f"/scan/{new_id}/status")
    assert status["scanner_server_logs"]["url"] == f"?scan_id={new_id}"


@pytest.mark.slow
def test_a_queued_scan_is_prestartup_in_the_backlog_until_the_backlog_starts_it(
    url: str, real_event: dict[str, Any]
) -> None:
    running = launch(url, body(real_event, nsides={str(k): v for k, v in LONG_NSIDES.items()}))
    wait(lambda: get(url, f"/scan/{running['scan_id']}/status")["scan_state"].startswith("IN_PROGRESS__"))
    waiting = launch(url, body(real_event, priority=5))
    status = get(url, f"/scan/{waiting['scan_id']}/status")
    assert status["scan_state"] == "PENDING__PRESTARTUP" and not status["scan_complete"]
    assert get(url, f"/scan/{waiting['scan_id']}/manifest")["ewms_workflow_id"] == "not-yet-requested"
    assert get(url, f"/scan/{waiting['scan_id']}/ewms/workflow-id") == {
        "workflow_id": "not-yet-requested",
        "requested_ewms_workflow": False,
        "eligible_for_ewms": True,
        "ewms_address": None,
    }
    assert get(url, f"/scan/{waiting['scan_id']}/ewms/workforce") == {
        "workflow_id": "not-yet-requested",
        "statuses": {},
        "n_running": 0,
        "top_errors": {},
    }
    assert get(url, f"/scan/{waiting['scan_id']}/ewms/taskforces") == {"taskforces": []}
    entries = get(url, "/scans/backlog")["entries"]
    mine = [entry for entry in entries if entry["scan_id"] == waiting["scan_id"]]
    assert mine and mine[0]["priority"] == 5 and mine[0]["timestamp"] == waiting["timestamp"]
    assert set(mine[0]) == {"scan_id", "timestamp", "priority", "pending_timestamp", "next_attempt"}
    assert [e["timestamp"] for e in entries] == sorted(e["timestamp"] for e in entries)
    assert running["scan_id"] not in [entry["scan_id"] for entry in entries]

    # the running scan: its pool is the workforce, the scan's own workflow
    info = get(url, f"/scan/{running['scan_id']}/ewms/workflow-id")
    assert (
        info["requested_ewms_workflow"]
        and info["eligible_for_ewms"]
        and info["workflow_id"] != "not-yet-requested"
    )
    workforce = get(url, f"/scan/{running['scan_id']}/ewms/workforce")
    assert workforce["n_running"] == 1 and workforce["workflow_id"] == info["workflow_id"]
    taskforces = get(url, f"/scan/{running['scan_id']}/ewms/taskforces")["taskforces"]
    assert len(taskforces) == 1 and taskforces[0]["workflow_id"] == info["workflow_id"]
    assert get(url, f"/scan/{running['scan_id']}/logs") == {
        "scanner_server": {"url": f"https://logs.example/{running['scan_id']}"}
    }
    code, reason = status_line(
        url,
        "POST",
        f"/scan/{running['scan_id']}/actions/add-workers",
        {"n_workers": 3, "cluster_location": "local"},
        USER,
    )
    assert code == 422 and "cannot add workers" in reason
    code, reason = status_line(
        url,
        "POST",
        f"/scan/{waiting['scan_id']}/actions/add-workers",
        {"n_workers": 3, "cluster_location": "local"},
        USER,
    )
    assert (code, reason) == (422, "an EWMS workflow has not been assigned--cannot add workers")
    assert status_line(url, "POST", f"/scan/{waiting['scan_id']}/actions/add-workers", {}, USER) == (
        400,
        "the following arguments are required: n_workers, cluster_location",
    )
    for scan in (running, waiting):
        requests.delete(f"{url}/scan/{scan['scan_id']}", headers=USER, timeout=30).raise_for_status()
    code, reason = status_line(
        url,
        "POST",
        f"/scan/{waiting['scan_id']}/actions/add-workers",
        {"n_workers": 3, "cluster_location": "local"},
        USER,
    )
    assert (code, reason) == (422, "this scan has been deleted--cannot add workers")


def test_external_scanner_takes_a_handed_out_scan(external_url: str) -> None:
    url = external_url
    # SkyDriver does not check what its scanner will: any reco_algo and nsides dict
    manifest = launch(url, body({"a": 22}, reco_algo="anything", nsides={"1": 2, "3": 4}, cluster={"osg": 4}))
    scan_id = manifest["scan_id"]
    assert get(url, f"/scan/{scan_id}/status")["scan_state"] == "PENDING__PRESTARTUP"
    wait(lambda: scan_id not in [e["scan_id"] for e in get(url, "/scans/backlog")["entries"]])
    assert get(url, f"/scan/{scan_id}/manifest")["ewms_workflow_id"] == "not-yet-requested"
    assert get(url, f"/scan/{scan_id}/status")["scan_state"] == "PENDING__PRESTARTUP"

    taken = requests.post(
        f"{url}/scan/{scan_id}/ewms/workflow-id",
        headers=SYSTEM,
        timeout=30,
        json={"workflow_id": "wf-1", "ewms_address": "ewms.example"},
    )
    assert taken.status_code == 200 and taken.json()["ewms_workflow_id"] == "wf-1"
    assert get(url, f"/scan/{scan_id}/ewms/workflow-id")["requested_ewms_workflow"] is True
    assert get(url, f"/scan/{scan_id}/status")["scan_state"] == "PENDING__WAITING_ON_SCANNER_SERVER_STARTUP"
    again = status_line(
        url, "POST", f"/scan/{scan_id}/ewms/workflow-id", {"workflow_id": "wf-2", "ewms_address": "x"}, SYSTEM
    )
    assert again == (404, "Not Found")

    # the scanner's PATCH: progress auto-filled, errors in SkyDriver's words
    for bad in ("Done", ["a", "b", "c"]):
        code, reason = status_line(url, "PATCH", f"/scan/{scan_id}/manifest", {"progress": bad}, SYSTEM)
        assert code == 400 and reason.startswith("argument progress: missing value for field"), reason
    progress = {
        "summary": "s",
        "epilogue": "e",
        "tallies": {"n": 1},
        "processing_stats": {"start": {}, "runtime": {}, "rate": {"r": 1}},
        "predictive_scanning_threshold": 1.0,
        "last_updated": "now",
        "start": 1,
        "end": 2,
    }
    before = time.time()
    patched = requests.patch(
        f"{url}/scan/{scan_id}/manifest", json={"progress": progress}, headers=SYSTEM, timeout=30
    ).json()
    assert patched["progress"]["processing_stats"] == {
        "start": {},
        "runtime": {},
        "rate": {"r": 1},
        "end": "",
        "finished": False,
        "predictions": {},
    }
    assert patched["timestamp"] < before < patched["last_updated"]
    assert get(url, f"/scan/{scan_id}/status")["scan_state"] == "IN_PROGRESS__PARTIAL_RESULT_GENERATED"

    # the scanner's PUT result: SkyDriver's texts, and any dict stored as given
    assert status_line(url, "PUT", f"/scan/{scan_id}/result", {}, SYSTEM) == (
        400,
        "the following arguments are required: skyscan_result, is_final",
    )
    assert status_line(
        url, "PUT", f"/scan/{scan_id}/result", {"skyscan_result": "Done", "is_final": True}, SYSTEM
    ) == (400, "argument skyscan_result: arg must be a dict")
    empty = requests.put(
        f"{url}/scan/{scan_id}/result",
        json={"skyscan_result": {}, "is_final": True},
        headers=SYSTEM,
        timeout=30,
    )
    assert empty.json() == {} and get(url, f"/scan/{scan_id}/result") == {}
    put = requests.put(
        f"{url}/scan/{scan_id}/result",
        json={"skyscan_result": {"partial": [1, 2]}, "is_final": False},
        headers=SYSTEM,
        timeout=30,
    )
    expected = {"scan_id": scan_id, "skyscan_result": {"partial": [1, 2]}, "is_final": False}
    assert put.json() == expected and get(url, f"/scan/{scan_id}/result") == expected
    assert get(url, f"/scan/{scan_id}/manifest")["last_updated"] == patched["last_updated"]
    requests.put(
        f"{url}/scan/{scan_id}/result",
        json={"skyscan_result": {"final": 1}, "is_final": True},
        headers=SYSTEM,
        timeout=30,
    ).raise_for_status()
    status = get(url, f"/scan/{scan_id}/status")
    assert status["scan_state"] == "SCAN_HAS_FINAL_RESULT" and status["scan_complete"]
    assert status_line(url, "DELETE", f"/scan/{scan_id}", {}, USER) == (
        400,
        "Attempted to delete a completed scan (must use `delete_completed_scan=True`)",
    )


def test_a_final_result_before_any_workflow_finishes_the_scan(external_url: str) -> None:
    url = external_url
    scan_id = launch(url, body({"a": 1}, reco_algo="anything"))["scan_id"]
    requests.put(
        f"{url}/scan/{scan_id}/result",
        json={"skyscan_result": {"x": 1}, "is_final": True},
        headers=SYSTEM,
        timeout=30,
    ).raise_for_status()
    assert get(url, f"/scan/{scan_id}/status")["scan_complete"] is True
    assert scan_id not in [e["scan_id"] for e in get(url, "/scans/backlog")["entries"]]
