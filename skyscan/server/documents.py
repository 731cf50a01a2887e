"""The documents the scan store answers with, typed: the shapes of SkyDriver's JSON (a manifest, a
result, a status, a workforce), so the routes and the store agree on every key and its type.

Values that are free JSON (a request's classifiers, an event, metadata, progress, the skyreader
result) stay :data:`JSON`; everything SkyDriver fixes is typed.
"""

from __future__ import annotations

from typing import TypedDict

from skybase.json_types import JSONObject, JSONValue

#: a free JSON value, as stored (parsed with :func:`json.loads`)
JSON = JSONValue


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


class LaunchFields(TypedDict):
    """The fields of a checked ``POST /scan`` that are stored (without the event)."""

    docker_tag: str
    scanner_server_memory_bytes: int
    reco_algo: str
    nsides: dict[str, int]
    real_or_simulated_event: str
    predictive_scanning_threshold: float
    classifiers: JSONObject
    request_clusters: list[list[JSON]]
    worker_memory_bytes: int
    worker_disk_bytes: int
    max_pixel_reco_time: int
    priority: int
    debug_mode: list[str]
    scanner_server_env_from_user: JSONObject


class StoredRequest(LaunchFields):
    """A ``POST /scan`` request as stored (``scan_requests.body_json``), with its event's id."""

    i3_event_id: str


class ScanRequestDoc(StoredRequest):
    """``GET /scan-request/{id}``: the stored request with its id and its rescans' ids."""

    scan_id: str
    rescan_ids: list[str]


class EventMetadataDoc(TypedDict):
    """``manifest.event_metadata``, as checked by ``scanner_client.models.EventMetadata``."""

    run_id: int
    event_id: int
    event_type: str | None
    mjd: float
    is_real_event: bool


class WorkflowInfo(TypedDict):
    """``GET /scan/{id}/ewms/workflow-id``."""

    workflow_id: str | None
    requested_ewms_workflow: bool
    eligible_for_ewms: bool
    ewms_address: str | None


class ExternalTaskforce(TypedDict):
    """The one taskforce of a scan taken by an external scanner (skyscan knows its workflow only)."""

    taskforce_uuid: str
    workflow_id: str | None
    ewms_address: str | None
    cluster_location: None
    n_workers: None
    phase: str


class PoolTaskforce(TypedDict):
    """The one taskforce of a scan run by this service's worker pool."""

    taskforce_uuid: str
    workflow_id: str | None
    cluster_location: str
    n_workers: int
    phase: str
    owner: str | None


class Taskforces(TypedDict):
    """``GET /scan/{id}/ewms/taskforces``."""

    taskforces: list[ExternalTaskforce | PoolTaskforce]


class BacklogEntry(TypedDict):
    """One entry of ``GET /scans/backlog``."""

    scan_id: str
    timestamp: float
    priority: int
    pending_timestamp: float
    next_attempt: int
