"""skyscan's own description of its API, over real HTTP: ``GET /openapi.json`` and its pages
``/docs`` and ``/redoc`` need a token unless ``public_api_docs`` opens them, and the document lists
every status each route answers. Then the answers fuzzing that document found wrong: each is
now what the document says (``tests/fuzz/test_skyscan_api_fuzz.py`` checks the whole API).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.skyscan_service import SYSTEM_TOKEN, USER_TOKEN, Service, launch_body, service_env

USER = {"Authorization": f"Bearer {USER_TOKEN}"}
SYSTEM = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}
DOCUMENT_PATHS = ("/openapi.json", "/docs", "/redoc")
SCAN_READ = {"200", "302", "400", "403", "404"}
#: every status each route answers (method, path): what the document must list, no more
ANSWERS = {
    ("get", "/"): {"200", "403"},
    ("post", "/scans/find"): {"200", "400", "403"},
    ("get", "/scans/backlog"): {"200", "403"},
    ("post", "/scan"): {"200", "400", "403"},
    ("get", "/scan-request/{scan_id}"): {"200", "400", "403", "404"},
    ("post", "/scan/{scan_id}/actions/rescan"): SCAN_READ,
    ("post", "/scan/{scan_id}/actions/add-workers"): {"302", "400", "403", "404", "422"},
    ("get", "/scan/{scan_id}"): SCAN_READ,
    ("delete", "/scan/{scan_id}"): SCAN_READ,
    ("get", "/scan/{scan_id}/manifest"): SCAN_READ,
    ("patch", "/scan/{scan_id}/manifest"): {"200", "400", "403", "404"},
    ("get", "/scan/{scan_id}/i3-event"): SCAN_READ,
    ("get", "/scan/{scan_id}/result"): SCAN_READ,
    ("put", "/scan/{scan_id}/result"): {"200", "400", "403", "404"},
    ("get", "/scan/{scan_id}/status"): SCAN_READ,
    ("get", "/scan/{scan_id}/logs"): SCAN_READ,
    ("get", "/scan/{scan_id}/ewms/workflow-id"): SCAN_READ,
    ("post", "/scan/{scan_id}/ewms/workflow-id"): {"200", "400", "403", "404"},
    ("get", "/scan/{scan_id}/ewms/workforce"): SCAN_READ,
    ("get", "/scan/{scan_id}/ewms/taskforces"): SCAN_READ,
}


@pytest.fixture(scope="module")
def closed(make_database: Callable[[], str]) -> Iterator[str]:
    """skyscan as configured by default; no scan is ever launched on it."""
    service = Service(make_database(), service_env()).start()
    try:
        yield service.url
    finally:
        service.stop()


@pytest.fixture(scope="module")
def opened(make_database: Callable[[], str]) -> Iterator[str]:
    """skyscan with ``public_api_docs`` and external scanners (its scans are never run)."""
    service = Service(make_database(), service_env(PUBLIC_API_DOCS="true", RUN_SCANS="false")).start()
    try:
        yield service.url
    finally:
        service.stop()


def inline_document(page: str) -> Any:
    """The document a /docs or /redoc page carries."""
    found = re.search(r'<script id="openapi-document" type="application/json">(.*?)</script>', page, re.S)
    assert found, page[:500]
    return json.loads(found.group(1))


def test_the_api_document_and_its_pages_need_a_token(closed: str) -> None:
    for path in DOCUMENT_PATHS:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            answer = requests.get(f"{closed}{path}", headers=headers, timeout=30)
            assert answer.status_code == 403, (path, answer.status_code)
            assert answer.json() == {"code": 403, "error": "authentication failed"}
        for headers in (USER, SYSTEM):
            assert requests.get(f"{closed}{path}", headers=headers, timeout=30).status_code == 200, path
    document = requests.get(f"{closed}/openapi.json", headers=USER, timeout=30).json()
    for page in ("/docs", "/redoc"):
        answer = requests.get(f"{closed}{page}", headers=USER, timeout=30)
        assert answer.headers["content-type"].startswith("text/html")
        # a browser sends no token when a page fetches /openapi.json: the page carries it
        assert inline_document(answer.text) == document


def test_public_api_docs_opens_the_document_and_only_it(opened: str) -> None:
    document = requests.get(f"{opened}/openapi.json", timeout=30)
    assert document.status_code == 200 and document.json()["info"]["title"] == "skyscan"
    for page in ("/docs", "/redoc"):
        answer = requests.get(f"{opened}{page}", timeout=30)
        assert answer.status_code == 200 and inline_document(answer.text) == document.json()
    assert requests.get(f"{opened}/scans/backlog", timeout=30).status_code == 403


def test_every_route_documents_each_status_it_answers(closed: str) -> None:
    document = requests.get(f"{closed}/openapi.json", headers=USER, timeout=30).json()
    listed = {
        (method, path): set(operation["responses"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert listed == ANSWERS
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            for status, answer in operation["responses"].items():
                if status not in ("200", "302"):
                    assert answer["content"]["application/json"]["schema"] == error, (method, path, status)
            if "302" in operation["responses"]:
                assert "Location" in operation["responses"]["302"]["headers"]


def test_the_document_follows_the_settings(closed: str, opened: str) -> None:
    """What POST /scan accepts depends on the settings: the document is built from them."""
    scanning = requests.get(f"{closed}/openapi.json", headers=USER, timeout=30).json()
    external = requests.get(f"{opened}/openapi.json", timeout=30).json()
    body = scanning["components"]["schemas"]["LaunchScanBody"]["properties"]
    assert set(body["reco_algo"]["enum"]) == {"dummy", "online_gaussian", "pandel_mpe", "table_mpe"}
    assert "latest" in body["docker_tag"]["anyOf"][0]["enum"]
    assert "3.0.1" not in body["docker_tag"]["anyOf"][0]["enum"]  # older than min_scanner_tag
    assert "enum" not in external["components"]["schemas"]["LaunchScanBody"]["properties"]["reco_algo"]


def test_arguments_are_read_after_the_caller_is_authorized(closed: str) -> None:
    scan = "0" * 11 + "x" + "0" * 20
    query = {"no_redirect": "maybe"}
    anonymous = requests.get(f"{closed}/scan/{scan}/status", params=query, timeout=30)
    assert anonymous.status_code == 403
    answer = requests.get(f"{closed}/scan/{scan}/status", params=query, headers=USER, timeout=30)
    assert answer.status_code == 400 and answer.json()["error"].startswith("argument no_redirect: ")
    for word in ("Yes", "off", "1", "false"):  # strtobool's words, as SkyDriver reads them
        query = {"no_redirect": word}
        found = requests.get(f"{closed}/scan/{scan}/status", params=query, headers=USER, timeout=30)
        assert found.status_code == 404, word


def test_a_filter_is_refused_whatever_the_store_holds(closed: str) -> None:
    """Before, a filter was only evaluated against stored manifests: with none, anything passed."""
    for bad in ({"$where": "1"}, {"priority": {"$in": 5}}, {"$or": {"priority": 1}}):
        answer = requests.post(f"{closed}/scans/find", json={"filter": bad}, headers=USER, timeout=30)
        assert answer.status_code == 400 and answer.json()["error"].startswith("filter: "), bad
    fine = requests.post(
        f"{closed}/scans/find", json={"filter": {"priority": {"$gt": 1}}}, headers=USER, timeout=30
    )
    assert fine.status_code == 200 and fine.json() == {"manifests": []}


def test_a_method_not_allowed_names_every_method_of_the_path(closed: str) -> None:
    scan = "0" * 11 + "x" + "0" * 20
    for method, path, allowed in (
        ("PUT", f"/scan/{scan}", "DELETE, GET"),
        ("POST", f"/scan/{scan}/manifest", "GET, PATCH"),
        ("TRACE", "/", "GET"),
    ):
        answer = requests.request(method, f"{closed}{path}", headers=USER, timeout=30)
        assert answer.status_code == 405 and answer.headers["Allow"] == allowed, (method, path)


def test_a_null_manifest_projection_is_no_projection(opened: str) -> None:
    """The document allowed ``manifest_projection: null``; the server refused it (400)."""
    launched = requests.post(
        f"{opened}/scan", json=launch_body(manifest_projection=None), headers=USER, timeout=30
    )
    assert launched.status_code == 200, launched.text
    scan_id = launched.json()["scan_id"]
    assert "last_updated" in launched.json()
    rescan = requests.post(
        f"{opened}/scan/{scan_id}/actions/rescan",
        json={"manifest_projection": None},
        headers=USER,
        timeout=30,
    )
    assert rescan.status_code == 200 and "replaced_by_scan_id" in rescan.json(), rescan.text
    deleted = requests.delete(
        f"{opened}/scan/{scan_id}", json={"manifest_projection": None}, headers=USER, timeout=30
    )
    assert deleted.status_code == 200 and deleted.json()["manifest"]["is_deleted"] is True


def test_text_the_store_cannot_hold_is_refused_or_escaped(opened: str) -> None:
    """NUL characters and oversized ids went to PostgreSQL as they came: a 500 each."""
    unchecked = launch_body(reco_algo="odd\x00algo", nsides={"8\x00": 0})  # run_scans false: not checked
    launched = requests.post(f"{opened}/scan", json=unchecked, headers=USER, timeout=30)
    assert launched.status_code == 200, launched.text
    args = launched.json()["scanner_server_args"]
    assert "odd\\x00algo" in args and "8\\x00:0" in args
    no_event = launch_body(event_i3live_json=None, i3_event_id="ab\x00")
    del no_event["event_i3live_json"]
    answer = requests.post(f"{opened}/scan", json=no_event, headers=USER, timeout=30)
    assert (answer.status_code, answer.json()["error"]) == (400, "i3 event not found")
    scan_id = launched.json()["scan_id"]
    for body, field in (
        ({"workflow_id": "w" * 65, "ewms_address": "a"}, "workflow_id"),
        ({"workflow_id": "w", "ewms_address": "a\x00"}, "ewms_address"),
    ):
        refused = requests.post(
            f"{opened}/scan/{scan_id}/ewms/workflow-id", json=body, headers=SYSTEM, timeout=30
        )
        assert refused.status_code == 400 and refused.json()["error"].startswith(f"argument {field}: ")
    taken = requests.post(
        f"{opened}/scan/{scan_id}/ewms/workflow-id",
        json={"workflow_id": "w" * 64, "ewms_address": "https://ewms.example"},
        headers=SYSTEM,
        timeout=30,
    )
    assert taken.status_code == 200 and taken.json()["ewms_workflow_id"] == "w" * 64


def test_scanner_server_env_is_checked_even_with_a_rescan_key(opened: str) -> None:
    """``rescan`` is reserved in classifiers only; an env holding it skipped every other check."""
    env = {"rescan": 1, "long": "x" * 26}
    answer = requests.post(
        f"{opened}/scan", json=launch_body(scanner_server_env=env), headers=USER, timeout=30
    )
    assert answer.status_code == 400 and "longer than 25" in answer.json()["error"], answer.text
    allowed = requests.post(
        f"{opened}/scan", json=launch_body(scanner_server_env={"rescan": 1}), headers=USER, timeout=30
    )
    assert allowed.status_code == 200, allowed.text


def test_scanner_reports_are_typed_as_skydriver_reads_them(opened: str) -> None:
    """SkyDriver loads event_metadata with dacite, which checks each field's type as it is."""
    scan_id = requests.post(f"{opened}/scan", json=launch_body(), headers=USER, timeout=30).json()["scan_id"]
    meta = {"run_id": "1", "event_id": 2, "event_type": "x", "mjd": 60000.5, "is_real_event": True}
    answer = requests.patch(
        f"{opened}/scan/{scan_id}/manifest", json={"event_metadata": meta}, headers=SYSTEM, timeout=30
    )
    assert answer.status_code == 400 and "run_id" in answer.json()["error"], answer.text
    stored = requests.patch(
        f"{opened}/scan/{scan_id}/manifest",
        json={"event_metadata": {**meta, "run_id": 1}},
        headers=SYSTEM,
        timeout=30,
    )
    assert stored.status_code == 200 and stored.json()["event_metadata"]["run_id"] == 1


def test_nside_extensions_written_as_whole_floats_are_integers(closed: str) -> None:
    """The document says integer, which JSON Schema takes 4.0 to be (every other integer
    argument accepted it; nsides refused it). Last in this module: it launches a scan."""
    answer = requests.post(
        f"{closed}/scan", json=launch_body(nsides={"1": 0.0, "2": 4.0}), headers=USER, timeout=30
    )
    assert answer.status_code == 200, answer.text
    stored = requests.get(
        f"{closed}/scan-request/{answer.json()['scan_id']}", headers=USER, timeout=30
    ).json()
    assert stored["nsides"] == {"1": 0, "2": 4}
    half = requests.post(
        f"{closed}/scan", json=launch_body(nsides={"1": 0, "2": 4.5}), headers=USER, timeout=30
    )
    assert half.status_code == 400 and half.json()["error"].startswith("argument nsides"), half.text
