"""schemathesis hooks of ``test_skyscan_api_fuzz.py`` (the CLI loads them: ``SCHEMATHESIS_HOOKS``).

One rule of skyscan's document depends on what the service holds, which no schema can say: an
``i3_event_id`` in ``POST /scan`` must name an event the service has (else SkyDriver's 400 ``i3
event not found``, as the document says). A schema-valid (positive) request that names one gets
the id of an event the test stored first (``SKYSCAN_FUZZ_EVENT_ID``); negative requests are left
as generated.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis.generation.modes import GenerationMode


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    operation = case.operation
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    if positive and operation.method.upper() == "POST" and operation.path == "/scan":
        body = case.body
        if isinstance(body, dict) and body.get("i3_event_id") not in (None, ""):
            body["i3_event_id"] = os.environ["SKYSCAN_FUZZ_EVENT_ID"]
    return case
