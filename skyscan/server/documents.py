"""The documents the scan store answers with, typed: the shapes of SkyDriver's JSON (a manifest, a
result, a status, a workforce), so the routes and the store agree on every key and its type.

Values that are free JSON (a request's classifiers, an event, metadata, progress, the skyreader
result) stay :data:`JSON`; everything SkyDriver fixes is typed.
"""

from __future__ import annotations

from typing import Any, TypedDict

#: a free JSON value, as stored (parsed with :func:`json.loads`)
JSON = Any


class Manifest(TypedDict):
    """A scan's manifest, keys in SkyDriver's order (``scanner_client.models.MANIFEST_KEYS``)."""

    scan_id: str
    timestamp: float
    is_deleted: bool
    scanner_server_args: str
    ewms_workflow_id: str | None
    ewms_address: str | None
    ewms_task: str
    priority: int
    classifiers: JSON
    i3_event_id: str
    #: the placeholder text, or the event itself (system role, ``include_i3_event``)
    event_i3live_json_dict: JSON
    event_i3live_json_dict__hash: None
    event_metadata: JSON
    scan_metadata: JSON
    progress: JSON
    replaced_by_scan_id: str | None
    last_updated: float


class Result(TypedDict, total=False):
    """A scan's result, or ``{}`` while there is none."""

    scan_id: str
    skyscan_result: JSON
    is_final: bool


class ScanWithResult(TypedDict):
    """``GET /scan/{id}`` and ``DELETE /scan/{id}``: the manifest and the result."""

    manifest: Manifest
    result: Result


class LogsLink(TypedDict):
    url: str | None


class Workforce(TypedDict):
    """The ``ewms_workforce`` object: the pixel workers of a scan running here."""

    workflow_id: str
    statuses: dict[str, dict[str, int]]
    n_running: int
    top_errors: dict[str, int]


class Status(TypedDict):
    """``GET /scan/{id}/status``."""

    scan_state: str
    is_deleted: bool
    ewms_deactivated: str | None
    scan_complete: bool
    scanner_server_logs: LogsLink
    ewms_workforce: Workforce


class I3EventDoc(TypedDict):
    """``GET /scan/{id}/i3-event``."""

    i3_event: JSON
