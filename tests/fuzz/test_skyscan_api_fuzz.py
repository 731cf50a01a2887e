"""skyscan's REST API fuzzed from its own OpenAPI document (schemathesis): no request, however odd,
may be answered with a 500 (a 4xx with a reason is the answer to bad input). Runs against the real
``skyscan serve`` subprocess over HTTP. Slow; ``SKYMIST_API_FUZZ_EXAMPLES`` sets examples per route."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from tests.conftest import fresh_database
from tests.support.skyscan_service import USER_TOKEN, Service, service_env

EXAMPLES = int(os.environ.get("SKYMIST_API_FUZZ_EXAMPLES", "50"))


@pytest.fixture(scope="module")
def skyscan_api() -> Iterator[Service]:
    with fresh_database("skyscan_fuzz") as url:
        service = Service(url, service_env()).start()
        try:
            yield service
        finally:
            service.stop()


@pytest.mark.slow
def test_no_request_is_answered_500(skyscan_api: Service) -> None:
    """Every operation of the OpenAPI document, ``EXAMPLES`` generated requests each; every 500 is
    collected (method, path, body) and listed in the failure."""
    api = schemathesis.openapi.from_url(f"{skyscan_api.url}/openapi.json")
    failures: list[str] = []
    calls = 0
    for result in api.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"an operation of the OpenAPI document is invalid: {result}")
            continue
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers={"Authorization": f"Bearer {USER_TOKEN}"}, timeout=30)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]} "
                    f"body={str(case.body)[:300]}"
                )

        call()
    print(f"API fuzz: {calls} requests, {len(failures)} answered 500")
    assert not failures, "\n".join(failures[:30])
