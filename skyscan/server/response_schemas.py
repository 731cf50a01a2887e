"""The JSON Schemas of the bodies the API answers with, for its OpenAPI document only (the
requests' are in :mod:`skyscan.server.schemas`): each as :mod:`skyscan.server.views` and the
routes build it, so that every answer can be checked against the document."""

from __future__ import annotations

from scanner_client.models import MANIFEST_KEYS
from skyscan.server.schemas import Schema, ref


def _manifest_properties() -> dict[str, Schema]:
    nullable_text: Schema = {"type": ["string", "null"]}
    return {
        "scan_id": {"type": "string", "pattern": r"^\w+$"},
        "timestamp": {"type": "number"},
        "is_deleted": {"type": "boolean"},
        "scanner_server_args": {"type": "string"},
        "ewms_workflow_id": nullable_text,
        "ewms_address": nullable_text,
        "ewms_task": {"type": ["string", "object"], "deprecated": True},
        "priority": {"type": "integer"},
        "classifiers": {"type": "object"},
        "i3_event_id": nullable_text,
        "event_i3live_json_dict": {
            "type": ["string", "object"],
            "description": "the placeholder \"use 'i3_event_id'\"; the event itself for a scanner "
            "(system role) asking for it by projection",
        },
        "event_i3live_json_dict__hash": {"type": ["string", "null"], "deprecated": True},
        "event_metadata": {"anyOf": [ref("EventMetadata"), {"type": "null"}]},
        "scan_metadata": {"type": ["object", "null"]},
        "progress": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "replaced_by_scan_id": nullable_text,
        "last_updated": {"type": "number"},
    }


def response_schemas() -> dict[str, Schema]:
    """The bodies the routes answer with, by component name."""
    manifest = _manifest_properties()
    result: Schema = {
        "type": "object",
        "properties": {
            "scan_id": {"type": "string"},
            "skyscan_result": {"type": "object"},
            "is_final": {"type": "boolean"},
        },
        "required": ["scan_id", "skyscan_result", "is_final"],
        "additionalProperties": False,
    }
    empty: Schema = {"type": "object", "maxProperties": 0}
    nullable_text: Schema = {"type": ["string", "null"]}
    return {
        "Error": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "error": {"type": "string"}},
            "required": ["code", "error"],
            "additionalProperties": False,
            "description": "an error: its HTTP status and message (also the status line's reason)",
        },
        "Empty": empty,
        "Manifest": {
            "type": "object",
            "properties": manifest,
            "required": list(MANIFEST_KEYS),
            "additionalProperties": False,
        },
        "ManifestFields": {
            "type": "object",
            "properties": manifest,
            "additionalProperties": False,
            "description": "the manifest fields asked for (manifest_projection / projection)",
        },
        "Result": result,
        "ResultOrEmpty": {"anyOf": [empty, ref("Result")], "description": "{} until there is a result"},
        "ScanAndResult": {
            "type": "object",
            "properties": {"manifest": ref("ManifestFields"), "result": ref("ResultOrEmpty")},
            "required": ["manifest", "result"],
            "additionalProperties": False,
        },
        "ScanStatus": {
            "type": "object",
            "properties": {
                "scan_state": {"type": "string", "pattern": r"^[A-Z_]+$"},
                "is_deleted": {"type": "boolean"},
                "ewms_deactivated": nullable_text,
                "scan_complete": {"type": "boolean"},
                "scanner_server_logs": {"type": "object", "properties": {"url": nullable_text}},
                "ewms_workforce": ref("Workforce"),
            },
            "required": [
                "scan_state",
                "is_deleted",
                "ewms_deactivated",
                "scan_complete",
                "scanner_server_logs",
                "ewms_workforce",
            ],
            "additionalProperties": False,
        },
        "Workforce": {
            "type": "object",
            "properties": {
                "workflow_id": {"type": "string"},
                "statuses": {"type": "object"},
                "n_running": {"type": "integer", "minimum": 0},
                "top_errors": {"type": "object"},
            },
            "required": ["workflow_id", "statuses", "n_running", "top_errors"],
            "additionalProperties": False,
        },
        "Taskforces": {
            "type": "object",
            "properties": {"taskforces": {"type": "array", "items": {"type": "object"}}},
            "required": ["taskforces"],
            "additionalProperties": False,
        },
        "WorkflowInfo": {
            "type": "object",
            "properties": {
                "workflow_id": nullable_text,
                "requested_ewms_workflow": {"type": "boolean"},
                "eligible_for_ewms": {"type": "boolean"},
                "ewms_address": nullable_text,
            },
            "required": ["workflow_id", "requested_ewms_workflow", "eligible_for_ewms", "ewms_address"],
            "additionalProperties": False,
        },
        "ScanRequest": {
            "type": "object",
            "properties": {
                "scan_id": {"type": "string"},
                "rescan_ids": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["scan_id", "rescan_ids"],
            "description": "the request as stored (its fields as accepted, sizes in bytes)",
        },
        "FoundManifests": {
            "type": "object",
            "properties": {"manifests": {"type": "array", "items": ref("ManifestFields")}},
            "required": ["manifests"],
            "additionalProperties": False,
        },
        "Backlog": {
            "type": "object",
            "properties": {
                "entries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "scan_id": {"type": "string"},
                            "timestamp": {"type": "number"},
                            "priority": {"type": "integer"},
                            "pending_timestamp": {"type": "number"},
                            "next_attempt": {"type": "integer"},
                        },
                        "required": ["scan_id", "timestamp", "priority"],
                    },
                }
            },
            "required": ["entries"],
            "additionalProperties": False,
        },
        "I3Event": {
            "type": "object",
            "properties": {"i3_event": {"type": "object"}},
            "required": ["i3_event"],
            "additionalProperties": False,
        },
        "Logs": {
            "type": "object",
            "properties": {
                "scanner_server": {
                    "type": "object",
                    "properties": {"url": nullable_text},
                    "required": ["url"],
                }
            },
            "required": ["scanner_server"],
            "additionalProperties": False,
        },
    }
