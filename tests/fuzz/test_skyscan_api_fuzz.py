"""skyscan's REST API fuzzed from its own OpenAPI document with schemathesis (its CLI, as anyone
would run it), against the real ``skyscan serve`` over HTTP: every route, schema-valid and
schema-invalid requests, and the answers checked against the document: no 500, every status
documented for its route, every body (and content type, header) as documented, valid requests
accepted, invalid ones refused, auth enforced, undeclared methods a 405 naming the allowed ones.

Two of schemathesis' checks are left out, both for SkyDriver's behaviour, which is the contract:
``missing_required_header`` wants a 401 for a request without ``Authorization``, where SkyDriver
(rest-tools ``@authenticated``) answers 403 ``authentication failed`` (the document says 403 and
``status_code_conformance`` holds the server to it); ``use_after_free`` wants a deleted resource
to be gone, where SkyDriver's DELETE marks a scan deleted and ``include_deleted=true`` still
reads it.

Bounded for the suite, by the tier (tests/tier.py): ``SKYMIST_API_FUZZ_EXAMPLES`` examples per
route in the fuzzing and stateful phases (3 in the quick tier, 10 in the long one), a fixed seed
(``SKYMIST_API_FUZZ_SEED`` changes it). The coverage phase (every route's boundary cases, about
1,400 requests and most of the CPU, and the undeclared methods) runs in the long tier only, or
with ``SKYMIST_API_FUZZ_COVERAGE=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import fresh_database
from tests.support.skyscan_service import SYSTEM_TOKEN, USER_TOKEN, Service, launch_body, service_env
from tests.tier import size

EXAMPLES = size(3, 10, "SKYMIST_API_FUZZ_EXAMPLES")
#: the phases of the test of every route: the coverage phase's boundary cases in the long tier
PHASES = (
    "examples,coverage,fuzzing,stateful"
    if size(0, 1, "SKYMIST_API_FUZZ_COVERAGE")
    else "examples,fuzzing,stateful"
)
SEED = int(os.environ.get("SKYMIST_API_FUZZ_SEED", "20261207"))
ROOT = Path(__file__).resolve().parents[2]
#: the routes of the `system` role (scanners): fuzzed with a system token, the others a user's
SYSTEM_ROUTES = (
    "PATCH /scan/{scan_id}/manifest",
    "PUT /scan/{scan_id}/result",
    "POST /scan/{scan_id}/ewms/workflow-id",
)
LEFT_OUT = "missing_required_header,use_after_free"


def schemathesis_cli() -> list[str]:
    script = Path(sys.executable).with_name("schemathesis")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "schemathesis.cli"]


@pytest.fixture(scope="module")
def external_api() -> Iterator[Service]:
    """skyscan with external scanners (``run_scans`` false): the scans fuzzing launches are only
    queued and handed out, never run (a fuzzed progression may ask for 10**12 pixels)."""
    with fresh_database("skyscan_fuzz") as url:
        service = Service(url, service_env(RUN_SCANS="false")).start()
        try:
            yield service
        finally:
            service.stop()


@pytest.fixture(scope="module")
def scanning_api() -> Iterator[Service]:
    """skyscan running its scans (the default): only refused requests are sent to it."""
    with fresh_database("skyscan_fuzz") as url:
        service = Service(url, service_env()).start()
        try:
            yield service
        finally:
            service.stop()


def stored_event_id(service: Service) -> str:
    """Launches one scan, for the id of an event the service holds."""
    answer = requests.post(
        f"{service.url}/scan",
        json=launch_body(),
        headers={"Authorization": f"Bearer {USER_TOKEN}"},
        timeout=30,
    )
    answer.raise_for_status()
    event_id: str = answer.json()["i3_event_id"]
    return event_id


def run_schemathesis(
    service: Service, tmp_path: Path, *options: str, event_id: str = "", examples: int = EXAMPLES
) -> dict[str, Any]:
    """The CLI over the service's document; its JSON report (failures listed on failure)."""
    config = tmp_path / "schemathesis.toml"
    names = ", ".join(json.dumps(name) for name in SYSTEM_ROUTES)
    config.write_text(
        f'[[operations]]\ninclude-name = [{names}]\nheaders = {{ Authorization = "Bearer {SYSTEM_TOKEN}" }}\n'
    )
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SCHEMATHESIS_HOOKS": "tests.fuzz.skyscan_api_hooks",
        "SKYSCAN_FUZZ_EVENT_ID": event_id,
    }
    command = [
        *schemathesis_cli(),
        "--config-file",
        str(config),
        "run",
        f"{service.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {USER_TOKEN}",
        "--max-examples",
        str(examples),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *options,
    ]
    # run in tmp_path: schemathesis keeps a cache of what it found in its working directory
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert report.is_file(), f"schemathesis wrote no report:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(report.read_text())
    cases = result["test_cases"]
    print(
        f"schemathesis {' '.join(options)}: {cases['generated']} requests, "
        f"{cases['unique_failures']} mismatches, {len(result['errors'])} errors, "
        f"{result['running_time']:.0f} s"
    )
    failures_at = done.stdout.find("=== FAILURES ===")
    shown = done.stdout[failures_at - 40 :] if failures_at >= 0 else done.stdout[-6000:]
    assert done.returncode == 0 and not result["failures"] and not result["errors"], shown[:12000]
    return result


@pytest.mark.slow
def test_every_answer_is_as_the_document_says(external_api: Service, tmp_path: Path) -> None:
    """All routes, positive and negative requests, the fuzzing and stateful phases (and the
    coverage phase in the long tier)."""
    result = run_schemathesis(
        external_api,
        tmp_path,
        "--phases",
        PHASES,
        "--checks",
        "all",
        "--exclude-checks",
        LEFT_OUT,
        event_id=stored_event_id(external_api),
    )
    assert result["operations"]["tested"] == result["operations"]["total"] == 20


@pytest.mark.slow
def test_a_scan_skyscan_runs_is_refused_as_documented(scanning_api: Service, tmp_path: Path) -> None:
    """``POST /scan`` of a service that runs its scans documents what it can run (reco_algo,
    nsides, threshold): every schema-invalid request to it is refused, with a documented answer.
    (Only invalid ones: a valid one would run, and its nsides order, which JSON Schema cannot
    state, may be refused. The coverage phase of this body is run by the test above.)"""
    result = run_schemathesis(
        scanning_api,
        tmp_path,
        "--mode",
        "negative",
        "--include-name",
        "POST /scan",
        "--phases",
        "fuzzing",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,negative_data_rejection",
        examples=10 * EXAMPLES,
    )
    assert result["operations"]["tested"] == 1
