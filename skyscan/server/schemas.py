"""The JSON Schemas of the API's request bodies and query arguments, for its OpenAPI document
only (the answers' are in :mod:`skyscan.server.response_schemas`).

The routes read bodies with :mod:`skyscan.server.bodies` (SkyDriver's order of checks and error
texts); the schemas here state what those readers accept, as exactly as JSON Schema can: a body
valid here is accepted, one invalid here is refused with a 400. SkyDriver reads arguments as
command-line options, so the accepted forms are its lenient ones (booleans as ``true``, ``1`` or
``"yes"``; integers as ``5`` or ``"5"``). What JSON Schema cannot state (the order of ``nsides``
keys, the pixel extension of the first one, an ``i3_event_id`` the store must hold, a scan's
state) is said in the descriptions. Some settings shape the schemas (known clusters, scanner
tags, whether this service runs scans), so the document is built from the running settings.
"""

from __future__ import annotations

from typing import Any, Final

from scanner_client.models import MANIFEST_KEYS, EventMetadata, Progress
from skybase import scan_requests
from skybase.scan_requests import DEBUG_CLIENT_LOGS, REAL_OR_SIMULATED_CHOICES
from skyscan.pixels import MAX_NSIDE
from skyscan.server.arguments import INT32_MAX, INT32_MIN, MAX_SIZE_BYTES
from skyscan.server.bodies import DEBUG_MODE_WORKER_CAPS, WORKFLOW_ID_MAX
from skyscan.server.find import LOGICAL, MAX_DEPTH
from skyscan.server.store import FIND_EXCLUDED

Schema = dict[str, Any]

REF: Final = "#/components/schemas/{model}"


def ref(name: str) -> Schema:
    return {"$ref": REF.format(model=name)}


# ---------------------------------------------------------------------------- argument forms

#: strtobool's words (any case, surrounding spaces allowed)
_BOOLEAN_WORDS: Final = (
    r"^\s*(?:[yY](?:[eE][sS])?|[tT](?:[rR][uU][eE])?|[oO][nN]|1"
    r"|[nN][oO]?|[fF](?:[aA][lL][sS][eE])?|[oO][fF][fF]|0)\s*$"
)
#: what :func:`skyscan.server.arguments.boolean` accepts
BOOLEAN: Final[Schema] = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer", "enum": [0, 1]},
        {"type": "string", "pattern": _BOOLEAN_WORDS},
    ],
    "description": "true/false, 0/1, or one of the words y, yes, t, true, on, 1, n, no, f, false, "
    "off, 0 (any case)",
}
#: a query-string boolean, read by the route (after it authorized the caller) with the same words
QUERY_BOOLEAN: Final[Schema] = {
    "anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _BOOLEAN_WORDS}],
    "description": BOOLEAN["description"],
}
#: a non-blank string (:func:`~skyscan.server.arguments.nonblank`)
NONBLANK: Final[Schema] = {"type": "string", "pattern": r"\S"}
#: text the store can hold (no NUL character), and such text that is not blank
STORED: Final = r"^[^\x00]*$"
STORED_NONBLANK: Final = r"^[^\x00]*[^\x00\s][^\x00]*$"
#: a string, or a number taken as its text (:func:`~skyscan.server.arguments.text`)
TEXT: Final[Schema] = {"type": ["string", "number"]}


def integer(low: int = INT32_MIN, high: int = INT32_MAX) -> Schema:
    """What :func:`skyscan.server.arguments.integer` accepts: a whole number in ``[low, high]``,
    or its text (the text form documented up to 9 digits)."""
    if high <= 1000:
        text = rf"^\s*\+?0{{0,20}}(?:{'|'.join(str(n) for n in range(high, low - 1, -1))})\s*$"
    elif low >= 1:
        text = r"^\s*\+?0{0,20}[1-9]\d{0,8}\s*$"
    else:
        text = r"^\s*[+-]?\d{1,9}\s*$"
    return {
        "anyOf": [
            {"type": "integer", "minimum": low, "maximum": high},
            {"type": "string", "pattern": text},
        ]
    }


#: a data size (:func:`~skyscan.server.arguments.data_size`): bytes, or a size with a unit
DATA_SIZE: Final[Schema] = {
    "anyOf": [
        {"type": "number", "minimum": 1, "maximum": MAX_SIZE_BYTES},
        {
            "type": "string",
            "pattern": r"^\s*0{0,10}[1-9]\d{0,5}(?:\.\d{1,6})?\s*(?:[kKmMgGtT][iI]?)?[bB]?\s*$",
        },
    ],
    "description": "bytes (1 to 2**63-1), or a size such as '8GB', '1024M' (decimal units) or "
    "'2GiB' (binary units)",
}
#: ``predictive_scanning_threshold`` when skyscan runs the scan: 0.1 < t <= 1
THRESHOLD: Final[Schema] = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0.1, "maximum": 1},
        {
            "type": "string",
            "pattern": r"^\s*\+?(?:0{0,5}1(?:\.0{0,10})?|0{0,5}\.(?:1\d{0,10}[1-9]|[2-9])\d{0,10})\s*$",
        },
    ],
    "description": "fraction of an nside's pixels back before the next refinement: 0.1 < t <= 1",
}
#: any finite number, or its text (the scanner checks it: skyscan does not run the scan)
NUMBER: Final[Schema] = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\s*[+-]?(?:\d{1,15}(?:\.\d*)?|\.\d{1,15})(?:[eE][+-]?\d{1,2})?\s*$"},
    ]
}
#: what SkyDriver takes as "not given" (a falsy JSON value)
FALSY: Final[Schema] = {"enum": [None, False, 0, "", [], {}]}


def _scalar_entries(*, nonempty_keys: bool, reserved: tuple[str, ...]) -> Schema:
    """``classifiers`` / ``scanner_server_env``: <= 25 scalar entries, keys and strings <= 25."""
    longest = scan_requests.CLASSIFIERS_MAX_CHARS
    names: Schema = {"maxLength": longest, "minLength": 1 if nonempty_keys else 0}
    if reserved:
        names["not"] = {"enum": list(reserved)}
    return {
        "type": "object",
        "maxProperties": scan_requests.CLASSIFIERS_MAX_ENTRIES,
        "propertyNames": names,
        "additionalProperties": {
            "anyOf": [{"type": ["null", "boolean", "number"]}, {"type": "string", "maxLength": longest}]
        },
    }


# ------------------------------------------------------------------------------- manifests


def _projection(fields: list[str]) -> Schema:
    names = ["*", *fields]
    return {
        "anyOf": [
            {"type": "null"},
            {"type": "string", "enum": names},
            {"type": "array", "items": {"type": "string", "enum": names}},
            {"type": "array", "items": {"type": "string"}, "contains": {"const": "*"}},
        ],
        "description": "the manifest fields to answer: '*' (all), one field name or a list of them "
        "('*' in the list means all); null or absent: all",
    }


def _query_projection() -> Schema:
    name = "|".join(["\\*", *MANIFEST_KEYS])
    return {
        "type": "string",
        "pattern": rf"^\s*(?:(?:{name})\s*)?(?:[|,]\s*(?:(?:{name})\s*)?)*$",
        "description": "'*' or manifest field names separated by '|' or ','",
    }


# ---------------------------------------------------------------------------------- POST /scan


def _clusters(known: list[str], caps: dict[str, int] | None) -> Schema:
    """``request_clusters``: ``{name: workers}`` or ``[[name, workers], ...]`` (a name may repeat)."""

    def count(name: str) -> Schema:
        cap = (caps or {}).get(name)
        return integer(1) if cap is None else integer(1, cap)

    pairs = [
        {"type": "array", "prefixItems": [{"const": name}, count(name)], "minItems": 2, "maxItems": 2}
        for name in known
    ]
    return {
        "anyOf": [
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"enum": known},
                "properties": {name: count(name) for name in known},
            },
            {"type": "array", "minItems": 1, "items": {"anyOf": pairs}},
        ],
        "description": "the cluster(s) and number of workers, e.g. {'osg': 1500}, or a list of "
        "[cluster, workers] pairs to name a cluster twice",
    }


def _nsides(runs_scans: bool) -> Schema:
    if not runs_scans:
        return {"type": "object", "description": "{nside: pixel extension}; the scanner checks it"}
    powers = [str(2**k) for k in range(MAX_NSIDE.bit_length())]  # up to HEALPix's limit, 2**29
    return {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"enum": powers},
        "additionalProperties": {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\d+$"}]
        },
        "description": "{nside: pixel extension}, e.g. {'8': 0, '64': 12, '512': 24}: powers of two, "
        "ascending in the order given; the first nside's extension is 0, the others' positive",
    }


def launch_body(
    *, known_clusters: list[str], docker_tags: list[str], runnable_algos: list[str] | None
) -> Schema:
    """``POST /scan``. ``runnable_algos``: when skyscan runs the scan itself (``run_scans``),
    the algorithms it runs; it then also checks ``nsides`` and the threshold."""
    clusters = _clusters(known_clusters, None)
    capped = _clusters(known_clusters, DEBUG_MODE_WORKER_CAPS)
    # a JSON number equal to another is the same enum value (4 and 4.0): one of each
    numeric_tags = list(
        {float(t): int(t) if t.isdigit() else float(t) for t in docker_tags if _plain_number(t)}.values()
    )
    env = _scalar_entries(nonempty_keys=True, reserved=())
    properties: dict[str, Schema] = {
        "docker_tag": {
            "anyOf": [{"type": "string", "enum": docker_tags}, {"type": "number", "enum": numeric_tags}],
            "description": "a skymap_scanner image tag this service knows ('latest', 'v4', '4.1', "
            "'4.2.1', a branch tag); numbers are taken as their text",
        },
        "scanner_server_memory_bytes": DATA_SIZE,
        "scanner_server_memory": {**DATA_SIZE, "deprecated": True},
        "worker_memory_bytes": DATA_SIZE,
        "worker_memory": {**DATA_SIZE, "deprecated": True},
        "worker_disk_bytes": DATA_SIZE,
        "worker_disk": {**DATA_SIZE, "deprecated": True},
        "memory": {
            **FALSY,
            "deprecated": True,
            "description": "refused unless falsy: use worker_memory_bytes",
        },
        "request_clusters": clusters,
        "cluster": {**clusters, "deprecated": True},
        "reco_algo": (
            {"type": "string", "enum": runnable_algos, "description": "the reconstructions skyscan runs"}
            if runnable_algos is not None
            else {**NONBLANK, "description": "checked by the scanner"}
        ),
        "event_i3live_json": {
            "type": "object",
            "description": "the realtime (i3live) message (also accepted: a string holding it as "
            "JSON); exactly one of event_i3live_json and i3_event_id, non-empty",
        },
        "i3_event_id": {
            **TEXT,
            "description": "instead of event_i3live_json: the id of an event this service holds "
            "(a manifest's i3_event_id); an unknown id is a 400 'i3 event not found'",
        },
        "nsides": _nsides(runnable_algos is not None),
        "real_or_simulated_event": {"type": "string", "enum": list(REAL_OR_SIMULATED_CHOICES)},
        "predictive_scanning_threshold": THRESHOLD if runnable_algos is not None else NUMBER,
        "max_pixel_reco_time": {**integer(1), "description": "seconds"},
        "debug_mode": {
            "anyOf": [
                {"const": DEBUG_CLIENT_LOGS},
                {"type": "array", "items": {"const": DEBUG_CLIENT_LOGS}},
            ]
        },
        "classifiers": _scalar_entries(nonempty_keys=False, reserved=scan_requests.RESERVED_CLASSIFIERS),
        "priority": {**integer(), "description": ">= 100 is realtime"},
        "scanner_server_env_from_user": env,
        "scanner_server_env": {**env, "deprecated": True},
        "manifest_projection": _projection(list(MANIFEST_KEYS)),
    }
    # shaped for generators as well as validators: one `anyOf`, one `not`, one `oneOf`, and the
    # debug caps as "no debug_mode, an empty one, or capped clusters" (rather than if/then)
    aliases = [
        ("request_clusters", "cluster"),
        ("scanner_server_memory_bytes", "scanner_server_memory"),
        ("worker_memory_bytes", "worker_memory"),
        ("worker_disk_bytes", "worker_disk"),
        ("scanner_server_env_from_user", "scanner_server_env"),
    ]
    return {
        "type": "object",
        "description": "A scan to run. Unknown fields are a 400; a deprecated name and its "
        "canonical one may not both be given.",
        "properties": properties,
        "additionalProperties": False,
        "required": ["docker_tag", "reco_algo", "nsides", "real_or_simulated_event", "max_pixel_reco_time"],
        "allOf": [
            {"anyOf": [{"required": ["request_clusters"]}, {"required": ["cluster"]}]},
            {"not": {"anyOf": [{"required": [canonical, alias]} for canonical, alias in aliases]}},
            {
                "oneOf": [
                    {
                        "required": ["event_i3live_json"],
                        "properties": {"event_i3live_json": {"minProperties": 1}},
                    },
                    {"required": ["i3_event_id"], "properties": {"i3_event_id": {"not": {"const": ""}}}},
                ]
            },
            {
                "anyOf": [
                    {"not": {"required": ["debug_mode"]}},
                    {"properties": {"debug_mode": {"type": "array", "maxItems": 0}}},
                    {"properties": {"request_clusters": capped, "cluster": capped}},
                ]
            },
        ],
    }


def _plain_number(tag: str) -> bool:
    """A tag whose JSON number form is taken as the same text (``4``, ``4.2``)."""
    if tag.isdigit():
        return str(int(tag)) == tag
    try:
        return str(float(tag)) == tag
    except ValueError:
        return False


# ------------------------------------------------------------------------------ other bodies


def _body(properties: dict[str, Schema], required: tuple[str, ...] = (), description: str = "") -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _filter() -> Schema:
    """``POST /scans/find``'s MongoDB-style filter (see :mod:`skyscan.server.find`)."""
    operators = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]
    return {
        "type": "object",
        "description": "dotted manifest paths equal to a value or meeting operators "
        f"({', '.join(operators)}), and {', '.join(LOGICAL)} lists of filters (at most "
        f"{MAX_DEPTH} deep)",
        "properties": {name: {"type": "array", "items": ref("ManifestFilter")} for name in LOGICAL},
        "propertyNames": {"anyOf": [{"enum": list(LOGICAL)}, {"not": {"pattern": "^\\$"}}]},
        "additionalProperties": ref("FilterCondition"),
    }


def _filter_condition() -> Schema:
    operators = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]
    return {
        "description": "a value to equal, or an object of operators (every key starting with '$')",
        "anyOf": [
            {"not": {"type": "object"}},
            {"type": "object", "maxProperties": 0},
            {"type": "object", "not": {"propertyNames": {"pattern": "^\\$"}}},
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"enum": operators},
                "properties": {"$in": {"type": "array"}, "$nin": {"type": "array"}},
            },
        ],
    }


def request_schemas(
    *, known_clusters: list[str], docker_tags: list[str], runnable_algos: list[str] | None
) -> dict[str, Schema]:
    """The request bodies and what they refer to, by component name."""
    no_redirect = {**BOOLEAN, "description": "answer for a replaced scan itself instead of a 302"}
    find_fields = [key for key in MANIFEST_KEYS if key not in FIND_EXCLUDED]
    schemas: dict[str, Schema] = {
        "LaunchScanBody": launch_body(
            known_clusters=known_clusters, docker_tags=docker_tags, runnable_algos=runnable_algos
        ),
        "DeleteBody": _body(
            {
                "no_redirect": no_redirect,
                "delete_completed_scan": {
                    **BOOLEAN,
                    "description": "needed to delete a scan with a final result (else a 400)",
                },
                "manifest_projection": _projection(list(MANIFEST_KEYS)),
            }
        ),
        "RescanBody": _body(
            {
                "no_redirect": no_redirect,
                "abort_first": BOOLEAN,
                "replace_scan": BOOLEAN,
                "manifest_projection": _projection(list(MANIFEST_KEYS)),
            }
        ),
        "FindBody": _body(
            {
                "filter": ref("ManifestFilter"),
                "include_deleted": BOOLEAN,
                "manifest_projection": _projection(find_fields),
            },
            ("filter",),
        ),
        "ManifestFilter": _filter(),
        "FilterCondition": _filter_condition(),
        "AddWorkersBody": _body(
            {"no_redirect": no_redirect, "n_workers": integer(1), "cluster_location": NONBLANK},
            ("n_workers", "cluster_location"),
            "checked as SkyDriver does, then always a 422: a running scan's pool is fixed",
        ),
        "WorkflowIdBody": _body(
            {
                "workflow_id": {"type": "string", "maxLength": WORKFLOW_ID_MAX, "pattern": STORED_NONBLANK},
                "ewms_address": {**TEXT, "pattern": STORED},
            },
            ("workflow_id", "ewms_address"),
            "a scanner takes a queued scan (404 once it has a workflow, or is deleted)",
        ),
        "PutResultBody": _body(
            {"skyscan_result": {"type": "object"}, "is_final": BOOLEAN},
            ("skyscan_result", "is_final"),
            "a partial result after the final one is a 400",
        ),
        "PatchManifestBody": _body(
            {
                "progress": {"anyOf": [FALSY, ref("Progress")]},
                "event_metadata": {"anyOf": [FALSY, ref("EventMetadata")]},
                "scan_metadata": {"anyOf": [{"enum": [None, "", []]}, {"type": "object"}]},
            },
            description="event_metadata and scan_metadata are set once (a different value later is "
            "a 400); a falsy value is not given",
        ),
    }
    for model in (Progress, EventMetadata):
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


QUERY_SCHEMAS: Final[dict[str, Schema]] = {
    "include_deleted": {**QUERY_BOOLEAN, "description": "also answer for a deleted scan"},
    "no_redirect": {**QUERY_BOOLEAN, "description": "answer for a replaced scan itself instead of a 302"},
    "projection": _query_projection(),
}
"""The query parameters, as the routes read them (after authorizing the caller)."""
