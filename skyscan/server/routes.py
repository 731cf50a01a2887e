"""The HTTP routes: SkyDriver REST API v2.4.x paths, bodies, roles and redirects.

Every handler authorizes first (a query or body is never read for a client that may not send
it), then (for the ``user`` role, unless ``no_redirect`` is true in the query or body) answers 302
to the replacement of a replaced scan, then reads its body (:mod:`skyscan.server.bodies`) and
calls the store. Each route declares every status it answers (:func:`~skyscan.server.openapi.answers`);
the JSON Schemas of :mod:`skyscan.server.schemas` document the bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from skybase.json_types import JSONObject, JSONValue
from skybase.scan_requests import SKYSCAN_RECO_ALGOS
from skyscan.server import bodies
from skyscan.server.arguments import Invalid, boolean, json_body
from skyscan.server.auth import Role, TokenTable
from skyscan.server.backlog import Launcher
from skyscan.server.docker_tags import TagCatalogue
from skyscan.server.errors import ApiError
from skyscan.server.openapi import answers
from skyscan.server.openapi import json_body as documents
from skyscan.server.store import FIND_EXCLUDED, ScanStore, project, project_fields
from skyscan.settings import SkyscanSettings

USER: Final = frozenset({Role.USER})
SYSTEM: Final = frozenset({Role.SYSTEM})
BOTH: Final = frozenset({Role.USER, Role.SYSTEM})

ScanId = Annotated[str, Path(pattern=r"^\w+$", description="scan id, e.g. 19505db3e88x4348a28a8554441b96bc")]
#: query flags, read by the route after it authorized the caller (documented in schemas.QUERY_SCHEMAS)
IncludeDeleted = Annotated[str | None, Query()]
NoRedirect = Annotated[str | None, Query()]

_bearer = HTTPBearer(auto_error=False, description="a token of the `user` or `system` role")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Services:
    """What the routes use, built once by the app factory."""

    store: ScanStore
    launcher: Launcher
    tokens: TokenTable
    settings: SkyscanSettings
    tags: TagCatalogue


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _authorize(request: Request, allowed: frozenset[Role]) -> tuple[Services, Role]:
    services = _services(request)
    return services, services.tokens.authorize(request.headers.get("authorization"), allowed)


class ScanReplacedError(Exception):
    """A user asked for a replaced scan: the app answers with this 302 to its replacement."""

    def __init__(self, response: RedirectResponse) -> None:
        super().__init__(response.headers.get("location", ""))
        self.response = response


def _redirect_if_replaced(
    request: Request, services: Services, role: Role, scan_id: str, no_redirect: bool
) -> None:
    """302 to the same URL with the replacement's id, for users of a replaced scan."""
    if role is not Role.USER or no_redirect:
        return
    services.store.get_manifest(scan_id, include_deleted=True)  # 404 for an unknown id
    new_id = services.store.replaced_by(scan_id)
    if new_id:
        path = request.url.path.replace(f"/{scan_id}", f"/{new_id}", 1)
        raise ScanReplacedError(RedirectResponse(str(request.url.replace(path=path)), status_code=302))


def flag(name: str, value: str | None) -> bool:
    """A query-string boolean as SkyDriver reads one (``true``, ``1``, ``yes``...); absent: false."""
    if value is None:
        return False
    try:
        return boolean(value)
    except Invalid as exc:
        raise ApiError(400, f"argument {name}: {exc}") from None


def _scan_caller(
    request: Request, allowed: frozenset[Role], scan_id: str, no_redirect: str | None
) -> tuple[Services, Role]:
    """Authorize the caller of a scan's route, then send a user of a replaced scan on (302)."""
    services, role = _authorize(request, allowed)
    _redirect_if_replaced(request, services, role, scan_id, flag("no_redirect", no_redirect))
    return services, role


def _scan_caller_with_body(
    request: Request, allowed: frozenset[Role], scan_id: str, raw: bytes, no_redirect: str | None
) -> tuple[Services, JSONObject]:
    """As :func:`_scan_caller`, for a route whose JSON body may also say ``no_redirect``; returns
    the decoded body (read only after the caller is authorized)."""
    services, role = _authorize(request, allowed)
    query_value = flag("no_redirect", no_redirect)
    decoded = json_body(raw)
    _redirect_if_replaced(request, services, role, scan_id, _no_redirect_in(decoded, query_value))
    return services, decoded


def _json(body: JSONValue) -> JSONResponse:
    return JSONResponse(body)


async def _raw_body(request: Request) -> bytes:
    """The body as sent; decoded by the handler after it authorized the request."""
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _no_redirect_in(body: JSONObject, query_value: bool) -> bool:
    if query_value or "no_redirect" not in body:
        return query_value
    try:
        return boolean(body["no_redirect"])
    except ValueError:
        raise ApiError(400, "argument no_redirect: invalid type") from None


router = APIRouter()

#: the answers of a scan's route read by users: 302 to a replacement, 400 for a bad id or query
READ_SCAN: Final = (302, 400, 403, 404)


@router.get("/", summary="Ping", tags=["root"], responses=answers(403, ok="Empty", ok_text="{}"))
def ping(request: Request, _: Bearer) -> JSONResponse:
    _authorize(request, USER)
    return _json({})


@router.post(
    "/scans/find",
    summary="Find scan manifests matching a MongoDB-style filter",
    tags=["scans"],
    openapi_extra=documents("FindBody", required=True),
    responses=answers(400, 403, ok="FoundManifests", ok_text="the matching manifests, oldest first"),
)
def find_scans(request: Request, raw: RawBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, USER)
    body = bodies.find_body(json_body(raw))
    project_fields(body["manifest_projection"], excluded=FIND_EXCLUDED)  # refuse before searching
    manifests = services.store.find(
        body["filter"], include_deleted=body["include_deleted"], projection=body["manifest_projection"]
    )
    return _json({"manifests": manifests})


@router.get(
    "/scans/backlog",
    summary="The scans waiting to be started",
    tags=["scans"],
    responses=answers(403, ok="Backlog", ok_text="the queued scans, oldest first"),
)
def get_backlog(request: Request, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, USER)
    return _json({"entries": services.store.backlog()})


@router.post(
    "/scan",
    summary="Launch a new scan",
    tags=["scan"],
    openapi_extra=documents("LaunchScanBody", required=True),
    responses=answers(400, 403, ok="ManifestFields", ok_text="the new scan's manifest (queued)"),
)
def launch_scan(request: Request, raw: RawBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, USER)
    settings = services.settings
    body = bodies.launch_body(
        json_body(raw),
        known_clusters=settings.known_clusters,
        tags=services.tags,
        runnable_algos=tuple(SKYSCAN_RECO_ALGOS) if settings.run_scans else None,
    )
    manifest = services.store.create_scan(body)
    # started by the backlog's next look (backlog_poll_s): PENDING__PRESTARTUP until then
    return _json(project(manifest, body.manifest_projection))


@router.get(
    "/scan-request/{scan_id}",
    summary="The stored request of a scan",
    tags=["scan-request"],
    responses=answers(400, 403, 404, ok="ScanRequest", ok_text="the request as stored"),
)
def get_scan_request(request: Request, scan_id: ScanId, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, USER)
    return _json(services.store.get_scan_request(scan_id))


@router.post(
    "/scan/{scan_id}/actions/rescan",
    summary="Launch a new scan from a scan's request",
    tags=["scan"],
    openapi_extra=documents("RescanBody", required=False),
    responses=answers(*READ_SCAN, ok="ManifestFields", ok_text="the new scan's manifest"),
)
def rescan(
    request: Request, scan_id: ScanId, raw: RawBody, _: Bearer, no_redirect: NoRedirect = None
) -> Response:
    services, decoded = _scan_caller_with_body(request, BOTH, scan_id, raw, no_redirect)
    body = bodies.rescan_body(decoded)
    manifest = services.store.rescan(
        scan_id, abort_first=body["abort_first"], replace_scan=body["replace_scan"]
    )
    if body["abort_first"]:
        services.launcher.cancel(scan_id)
    return _json(project(manifest, body["manifest_projection"]))


@router.post(
    "/scan/{scan_id}/actions/add-workers",
    summary="Add workers to a running scan",
    tags=["scan"],
    openapi_extra=documents("AddWorkersBody", required=True),
    responses=answers(*READ_SCAN, 422),
)
def add_workers(
    request: Request, scan_id: ScanId, raw: RawBody, _: Bearer, no_redirect: NoRedirect = None
) -> Response:
    services, decoded = _scan_caller_with_body(request, USER, scan_id, raw, no_redirect)
    bodies.add_workers_body(decoded)
    services.store.check_add_workers(scan_id)
    raise ApiError(
        422,
        f"skyscan runs each scan with a fixed pool of {services.settings.workers} pixel worker(s) "
        "(setting 'workers')--cannot add workers to a running scan",
    )


@router.get(
    "/scan/{scan_id}",
    summary="A scan's manifest and result",
    tags=["scan"],
    responses=answers(*READ_SCAN, ok="ScanAndResult", ok_text="the manifest and the result ({} if none)"),
)
def get_scan(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    include_deleted: IncludeDeleted = None,
    no_redirect: NoRedirect = None,
) -> Response:
    services, _role = _scan_caller(request, BOTH, scan_id, no_redirect)
    deleted_too = flag("include_deleted", include_deleted)
    return _json(services.store.get_scan(scan_id, include_deleted=deleted_too))


@router.delete(
    "/scan/{scan_id}",
    summary="Abort a scan and mark it deleted",
    tags=["scan"],
    openapi_extra=documents("DeleteBody", required=False),
    responses=answers(*READ_SCAN, ok="ScanAndResult", ok_text="the deleted scan's manifest and result"),
)
def delete_scan(
    request: Request, scan_id: ScanId, raw: RawBody, _: Bearer, no_redirect: NoRedirect = None
) -> Response:
    services, decoded = _scan_caller_with_body(request, USER, scan_id, raw, no_redirect)
    body = bodies.delete_body(decoded)
    answer = services.store.delete_scan(scan_id, delete_completed_scan=body["delete_completed_scan"])
    services.launcher.cancel(scan_id)
    return _json(
        {"manifest": project(answer["manifest"], body["manifest_projection"]), "result": answer["result"]}
    )


@router.get(
    "/scan/{scan_id}/manifest",
    summary="A scan's manifest",
    tags=["scan"],
    responses=answers(*READ_SCAN, ok="ManifestFields", ok_text="the manifest fields asked for"),
)
def get_manifest(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    include_deleted: IncludeDeleted = None,
    no_redirect: NoRedirect = None,
    projection: Annotated[str, Query()] = "*",
) -> Response:
    services, role = _scan_caller(request, BOTH, scan_id, no_redirect)
    deleted_too = flag("include_deleted", include_deleted)
    fields = [f.strip() for f in projection.replace("|", ",").split(",") if f.strip()] or ["*"]
    keys = project_fields(fields)
    # a scanner (system role) reads the event from the manifest, as SkyDriver's scanner does
    with_event = role is Role.SYSTEM and "event_i3live_json_dict" in keys
    manifest = services.store.get_manifest(scan_id, include_deleted=deleted_too, with_event=with_event)
    return _json(project(manifest, fields))


@router.patch(
    "/scan/{scan_id}/manifest",
    summary="Report progress and metadata (scanner)",
    tags=["scan"],
    openapi_extra=documents("PatchManifestBody", required=False),
    responses=answers(400, 403, 404, ok="Manifest", ok_text="the manifest"),
)
def patch_manifest(request: Request, scan_id: ScanId, raw: RawBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, SYSTEM)
    body = bodies.patch_manifest_body(json_body(raw))
    return _json(
        services.store.patch_manifest(
            scan_id,
            progress=body["progress"],
            event_metadata=body["event_metadata"],
            scan_metadata=body["scan_metadata"],
        )
    )


@router.get(
    "/scan/{scan_id}/i3-event",
    summary="The realtime event a scan was launched with",
    tags=["scan"],
    responses=answers(*READ_SCAN, ok="I3Event", ok_text="the event"),
)
def get_i3_event(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = None) -> Response:
    services, _role = _scan_caller(request, BOTH, scan_id, no_redirect)
    return _json(services.store.get_i3_event(scan_id))


@router.get(
    "/scan/{scan_id}/result",
    summary="A scan's result ({} until there is one)",
    tags=["scan"],
    responses=answers(*READ_SCAN, ok="ResultOrEmpty", ok_text="the result, {} until there is one"),
)
def get_result(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    include_deleted: IncludeDeleted = None,
    no_redirect: NoRedirect = None,
) -> Response:
    services, _role = _scan_caller(request, USER, scan_id, no_redirect)
    deleted_too = flag("include_deleted", include_deleted)
    return _json(services.store.get_result(scan_id, include_deleted=deleted_too))


@router.put(
    "/scan/{scan_id}/result",
    summary="Store a partial or final result (scanner)",
    tags=["scan"],
    openapi_extra=documents("PutResultBody", required=True),
    responses=answers(400, 403, 404, ok="ResultOrEmpty", ok_text="the stored result ({} for an empty one)"),
)
def put_result(request: Request, scan_id: ScanId, raw: RawBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, SYSTEM)
    body = bodies.put_result_body(json_body(raw))
    return _json(services.store.put_result(scan_id, body["skyscan_result"], is_final=body["is_final"]))


@router.get(
    "/scan/{scan_id}/status",
    summary="A scan's computed state",
    tags=["scan"],
    responses=answers(*READ_SCAN, ok="ScanStatus", ok_text="the scan's state"),
)
def get_status(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = None) -> Response:
    services, _role = _scan_caller(request, BOTH, scan_id, no_redirect)
    settings = services.settings
    return _json(
        services.store.get_status(
            scan_id, workers=settings.workers, logs_url_template=settings.logs_url_template
        )
    )


@router.get(
    "/scan/{scan_id}/logs",
    summary="Where a scan's logs are",
    tags=["scan"],
    responses=answers(*READ_SCAN, ok="Logs", ok_text="the URL of the scan's logs"),
)
def get_logs(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = None) -> Response:
    services, _role = _scan_caller(request, USER, scan_id, no_redirect)
    url = services.store.logs_url(scan_id, services.settings.logs_url_template)
    return _json({"scanner_server": {"url": url}})


@router.get(
    "/scan/{scan_id}/ewms/workflow-id",
    summary="The workflow running a scan",
    tags=["ewms"],
    responses=answers(*READ_SCAN, ok="WorkflowInfo", ok_text="the scan's workflow"),
)
def get_workflow_id(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = None) -> Response:
    services, _role = _scan_caller(request, BOTH, scan_id, no_redirect)
    return _json(services.store.workflow_info(scan_id))


@router.post(
    "/scan/{scan_id}/ewms/workflow-id",
    summary="Record the workflow running a scan (scanner)",
    tags=["ewms"],
    openapi_extra=documents("WorkflowIdBody", required=True),
    responses=answers(400, 403, 404, ok="Manifest", ok_text="the scan's manifest"),
)
def set_workflow_id(request: Request, scan_id: ScanId, raw: RawBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, SYSTEM)
    body = bodies.workflow_id_body(json_body(raw))
    return _json(services.store.set_workflow_id(scan_id, body["workflow_id"], body["ewms_address"]))


@router.get(
    "/scan/{scan_id}/ewms/workforce",
    summary="The workers of a scan",
    tags=["ewms"],
    responses=answers(*READ_SCAN, ok="Workforce", ok_text="the scan's pixel workers"),
)
def get_workforce(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = None) -> Response:
    services, _role = _scan_caller(request, BOTH, scan_id, no_redirect)
    return _json(services.store.workforce(scan_id, workers=services.settings.workers))


@router.get(
    "/scan/{scan_id}/ewms/taskforces",
    summary="The worker pools of a scan",
    tags=["ewms"],
    responses=answers(*READ_SCAN, ok="Taskforces", ok_text="the scan's worker pool"),
)
def get_taskforces(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = None) -> Response:
    services, _role = _scan_caller(request, BOTH, scan_id, no_redirect)
    settings = services.settings
    return _json(services.store.taskforces(scan_id, workers=settings.workers, pool_kind=settings.pool_kind))
