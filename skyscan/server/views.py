"""The JSON shapes SkyDriver answers with, built from a stored scan: manifest (exact key order),
result, ``scan_state`` and status."""

from __future__ import annotations

import json
from typing import Any, Final

from scanner_client.models import MANIFEST_KEYS, NOT_YET_REQUESTED, ScanState
from skyscan.server.documents import JSON, Manifest, Result, Status, Workforce
from skyscan.server.lifecycle import ACTIVE, Lifecycle
from skyscan.server.tables import ScanRow

EWMS_TASK_PLACEHOLDER: Final = "use 'ewms_workflow_id'"
EVENT_PLACEHOLDER: Final = "use 'i3_event_id'"


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def manifest(row: ScanRow, *, event: JSON | None = None) -> Manifest:
    """The manifest, keys in SkyDriver's order; ``event`` replaces the placeholder (system role)."""
    out: Manifest = {
        "scan_id": row.scan_id,
        "timestamp": row.timestamp,
        "is_deleted": row.is_deleted,
        "scanner_server_args": row.scanner_server_args,
        "ewms_workflow_id": row.ewms_workflow_id,
        "ewms_address": row.ewms_address,
        "ewms_task": EWMS_TASK_PLACEHOLDER,
        "priority": row.priority,
        "classifiers": loads(row.classifiers_json),
        "i3_event_id": row.i3_event_id,
        "event_i3live_json_dict": EVENT_PLACEHOLDER if event is None else event,
        "event_i3live_json_dict__hash": None,
        "event_metadata": loads(row.event_metadata_json),
        "scan_metadata": loads(row.scan_metadata_json),
        "progress": loads(row.progress_json),
        "replaced_by_scan_id": row.replaced_by_scan_id,
        "last_updated": row.last_updated,
    }
    assert tuple(out) == MANIFEST_KEYS
    return out


def result(row: ScanRow) -> Result:
    """``{"scan_id", "skyscan_result", "is_final"}``, or ``{}`` while there is none."""
    if row.result_json is None:
        return {}
    return {"scan_id": row.scan_id, "skyscan_result": loads(row.result_json), "is_final": row.result_is_final}


def scan_state(row: ScanRow) -> ScanState:
    """SkyDriver's ``scan_state``: from the final result, workflow id, progress and deactivation."""
    if row.result_is_final:
        return ScanState.SCAN_HAS_FINAL_RESULT
    progress = loads(row.progress_json)
    if row.ewms_workflow_id in (None, NOT_YET_REQUESTED):
        prefix, suffix = "PENDING", "PRESTARTUP"
    elif progress is None:
        prefix, suffix = "PENDING", "WAITING_ON_SCANNER_SERVER_STARTUP"
    elif not progress.get("processing_stats", {}).get("rate"):
        prefix, suffix = "IN_PROGRESS", "WAITING_ON_FIRST_PIXEL_RECO"
    else:
        prefix, suffix = "IN_PROGRESS", "PARTIAL_RESULT_GENERATED"
    if row.ewms_deactivated:
        prefix = row.ewms_deactivated
    return ScanState(f"{prefix}__{suffix}")


def workforce(row: ScanRow, workers: int) -> Workforce:
    """The ``ewms_workforce`` object: the pixel workers of a scan running here."""
    running = Lifecycle(row.lifecycle) in ACTIVE and row.owner is not None
    return {
        "workflow_id": row.ewms_workflow_id or NOT_YET_REQUESTED,
        "statuses": {"RUNNING": {"Tasking": workers}} if running else {},
        "n_running": workers if running else 0,
        "top_errors": {row.failure_reason: 1} if row.failure_reason else {},
    }


def status(row: ScanRow, *, workers: int, logs_url_template: str) -> Status:
    state = scan_state(row)
    return {
        "scan_state": state.value,
        "is_deleted": row.is_deleted,
        "ewms_deactivated": row.ewms_deactivated,
        "scan_complete": state is ScanState.SCAN_HAS_FINAL_RESULT,
        "scanner_server_logs": {
            "url": logs_url_template.format(scan_id=row.scan_id) if logs_url_template else None
        },
        "ewms_workforce": workforce(row, workers),
    }
