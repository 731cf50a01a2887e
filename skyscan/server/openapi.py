"""The API's own description: an OpenAPI 3.1 document listing, for every route, each status it
answers and the exact bodies it reads and writes.

Routes declare their answers with :func:`answers` (FastAPI's ``responses``); :func:`document`
renders the routes with FastAPI, then puts in those answers (in place of FastAPI's guesses: its
422 for validation errors, which skyscan answers 400), the bodies of
:mod:`skyscan.server.schemas` and :mod:`skyscan.server.response_schemas` and the query
arguments as the routes read them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Final

from fastapi import FastAPI
from fastapi.routing import APIRoute

from skybase.json_types import JSONObject, JSONValue
from skybase.scan_requests import SKYSCAN_RECO_ALGOS
from skyscan.server import response_schemas, schemas
from skyscan.server.docker_tags import TagCatalogue
from skyscan.settings import SkyscanSettings

Schema = JSONObject

DESCRIPTION: Final = """\
SkyDriver's REST API v2.4.x, as skyscan answers it. Every route needs a bearer token: of the
`user` role (launch, read, delete, rescan, find) or the `system` role (scanners: PATCH manifest,
PUT result, POST ewms/workflow-id, and the reads a scanner makes). No token or an unknown one is
a 403 `authentication failed`, a token without the route's role a 403 `authorization failed`
(SkyDriver's answers). Errors are `{"code", "error"}`, the message also in the status line. GET
arguments go in the query string, the others in a JSON body. A user asking for a scan replaced
by a rescan gets a 302 to the replacement (unless `no_redirect`)."""

#: what each status means, the same on every route that answers it
MEANING: Final[dict[int, str]] = {
    302: "The scan was replaced by a rescan (replace_scan): the same request for the replacement "
    "(Location). Only to a user, and not with no_redirect true.",
    400: "A bad argument or body: the error names the argument and the value.",
    403: "No token, an unknown one ('authentication failed'), or one without the route's role "
    "('authorization failed').",
    404: "No scan (or event, or scan request) with this id, or a deleted scan without include_deleted.",
    422: "The scan cannot take more workers (deleted, no workflow yet, finished) or, when it can, "
    "skyscan's fixed pool of pixel workers per scan.",
}


def answers(*statuses: int, ok: str | None = None, ok_text: str = "") -> dict[int | str, JSONValue]:
    """The ``responses`` of a route: ``ok`` names the 200 body's schema (None: never a 200)."""
    declared: dict[int | str, JSONValue] = {}
    if ok is not None:
        declared[200] = {"description": ok_text or ok, "content": _json(schemas.ref(ok))}
    for status in statuses:
        answer: Schema = {"description": MEANING[status]}
        if status == 302:
            answer["headers"] = {
                "Location": {"description": "the URL with the replacement's id", "schema": {"type": "string"}}
            }
        else:
            answer["content"] = _json(schemas.ref("Error"))
        declared[status] = answer
    return declared


def json_body(component: str, *, required: bool) -> JSONObject:
    """``openapi_extra`` of a route whose handler reads this JSON body itself (after auth)."""
    return {"requestBody": {"required": required, "content": _json(schemas.ref(component))}}


def _json(schema: Schema) -> JSONObject:
    return {"application/json": {"schema": schema}}


def document(
    app: FastAPI, routes: Sequence[APIRoute], settings: SkyscanSettings, tags: TagCatalogue
) -> JSONObject:
    """The document of ``app``, whose API routes are ``routes``, under ``settings`` (built anew
    each time: the scanner tags a directory holds may change)."""
    doc = copy.deepcopy(app.openapi())
    doc["info"]["description"] = DESCRIPTION
    for route in routes:
        for method in route.methods or ():
            operation = doc["paths"][route.path_format][method.lower()]
            operation["responses"] = {str(status): copy.deepcopy(a) for status, a in route.responses.items()}
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "query" and parameter["name"] in schemas.QUERY_SCHEMAS:
                    parameter["schema"] = schemas.QUERY_SCHEMAS[parameter["name"]]
    components = doc.setdefault("components", {})
    components["schemas"] = {
        **response_schemas.response_schemas(),
        **schemas.request_schemas(
            known_clusters=list(settings.known_clusters),
            docker_tags=tags.accepted(),
            runnable_algos=sorted(SKYSCAN_RECO_ALGOS) if settings.run_scans else None,
        ),
    }
    return doc
