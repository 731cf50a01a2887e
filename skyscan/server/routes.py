"""The HTTP routes: SkyDriver REST API v2.4.x paths, bodies, roles and redirects.

Every handler authorizes first, then (for the ``user`` role, unless ``no_redirect=true``) answers
302 to the replacement of a replaced scan, then calls one store method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scanner_client.models import Manifest, ScanStatus
from skyscan.server.auth import Role, TokenTable
from skyscan.server.backlog import Launcher
from skyscan.server.schemas import (
    DeleteBody,
    FindBody,
    LaunchScanBody,
    PatchManifestBody,
    PutResultBody,
    RescanBody,
    WorkflowIdBody,
)
from skyscan.server.store import ScanStore, project
from skyscan.settings import SkyscanSettings

USER: Final = frozenset({Role.USER})
SYSTEM: Final = frozenset({Role.SYSTEM})
BOTH: Final = frozenset({Role.USER, Role.SYSTEM})

ScanId = Annotated[str, Path(pattern=r"^\w+$", description="scan id, e.g. 19505db3e88x4348a28a8554441b96bc")]
IncludeDeleted = Annotated[bool, Query(description="also answer for a deleted scan")]
NoRedirect = Annotated[bool, Query(description="answer for a replaced scan itself instead of a 302")]

_bearer = HTTPBearer(auto_error=False, description="a token of the `user` or `system` role")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Services:
    """What the routes use, built once by the app factory."""

    store: ScanStore
    launcher: Launcher
    tokens: TokenTable
    settings: SkyscanSettings


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _authorize(request: Request, allowed: frozenset[Role]) -> tuple[Services, Role]:
    services = _services(request)
    return services, services.tokens.authorize(request.headers.get("authorization"), allowed)


def _redirect(
    request: Request, services: Services, role: Role, scan_id: str, no_redirect: bool
) -> Response | None:
    """302 to the same URL with the replacement's id, for users of a replaced scan."""
    if role is not Role.USER or no_redirect:
        return None
    new_id = services.store.replaced_by(scan_id)
    if not new_id:
        return None
    path = request.url.path.replace(f"/{scan_id}", f"/{new_id}", 1)
    return RedirectResponse(str(request.url.replace(path=path)), status_code=302)


def _json(body: Any) -> JSONResponse:
    return JSONResponse(body)


router = APIRouter()


@router.get("/", summary="Ping", tags=["root"])
def ping(request: Request, _: Bearer) -> JSONResponse:
    _authorize(request, USER)
    return _json({})


@router.post("/scans/find", summary="Find scan manifests matching a MongoDB-style filter", tags=["scans"])
def find_scans(request: Request, body: FindBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, USER)
    manifests = services.store.find(
        body.filter, include_deleted=body.include_deleted, projection=body.manifest_projection
    )
    return _json({"manifests": manifests})


@router.post("/scan", summary="Launch a new scan", tags=["scan"], response_model=Manifest)
def launch_scan(request: Request, body: LaunchScanBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, USER)
    manifest = services.store.create_scan(body, known_clusters=services.settings.known_clusters)
    services.launcher.wake()
    return _json(project(manifest, body.manifest_projection))


@router.get("/scan-request/{scan_id}", summary="The stored request of a scan", tags=["scan-request"])
def get_scan_request(request: Request, scan_id: ScanId, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, USER)
    return _json(services.store.get_scan_request(scan_id))


@router.post(
    "/scan/{scan_id}/actions/rescan",
    summary="Launch a new scan from a scan's request",
    tags=["scan"],
    response_model=Manifest,
)
def rescan(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    body: RescanBody | None = None,
    no_redirect: NoRedirect = False,
) -> Response:
    services, role = _authorize(request, BOTH)
    if (redirect := _redirect(request, services, role, scan_id, no_redirect)) is not None:
        return redirect
    body = body or RescanBody()
    manifest = services.store.rescan(scan_id, abort_first=body.abort_first, replace_scan=body.replace_scan)
    if body.abort_first:
        services.launcher.cancel(scan_id)
    services.launcher.wake()
    return _json(project(manifest, body.manifest_projection))


@router.get("/scan/{scan_id}", summary="A scan's manifest and result", tags=["scan"])
def get_scan(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    include_deleted: IncludeDeleted = False,
    no_redirect: NoRedirect = False,
) -> Response:
    services, role = _authorize(request, BOTH)
    if (redirect := _redirect(request, services, role, scan_id, no_redirect)) is not None:
        return redirect
    return _json(services.store.get_scan(scan_id, include_deleted=include_deleted))


@router.delete("/scan/{scan_id}", summary="Abort a scan and mark it deleted", tags=["scan"])
def delete_scan(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    body: DeleteBody | None = None,
    no_redirect: NoRedirect = False,
) -> Response:
    services, role = _authorize(request, USER)
    if (redirect := _redirect(request, services, role, scan_id, no_redirect)) is not None:
        return redirect
    body = body or DeleteBody()
    answer = services.store.delete_scan(scan_id, delete_completed_scan=body.delete_completed_scan)
    services.launcher.cancel(scan_id)
    return _json(
        {"manifest": project(answer["manifest"], body.manifest_projection), "result": answer["result"]}
    )


@router.get("/scan/{scan_id}/manifest", summary="A scan's manifest", tags=["scan"], response_model=Manifest)
def get_manifest(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    include_deleted: IncludeDeleted = False,
    no_redirect: NoRedirect = False,
) -> Response:
    services, role = _authorize(request, BOTH)
    if (redirect := _redirect(request, services, role, scan_id, no_redirect)) is not None:
        return redirect
    # a scanner (system role) reads the event from the manifest, as SkyDriver's scanner does
    return _json(
        services.store.get_manifest(scan_id, include_deleted=include_deleted, with_event=role is Role.SYSTEM)
    )


@router.patch(
    "/scan/{scan_id}/manifest",
    summary="Report progress and metadata (scanner)",
    tags=["scan"],
    response_model=Manifest,
)
def patch_manifest(request: Request, scan_id: ScanId, body: PatchManifestBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, SYSTEM)
    return _json(
        services.store.patch_manifest(
            scan_id,
            progress=body.progress,
            event_metadata=body.event_metadata,
            scan_metadata=body.scan_metadata,
        )
    )


@router.get("/scan/{scan_id}/i3-event", summary="The realtime event a scan was launched with", tags=["scan"])
def get_i3_event(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = False) -> Response:
    services, role = _authorize(request, BOTH)
    if (redirect := _redirect(request, services, role, scan_id, no_redirect)) is not None:
        return redirect
    return _json(services.store.get_i3_event(scan_id))


@router.get("/scan/{scan_id}/result", summary="A scan's result ({} until there is one)", tags=["scan"])
def get_result(
    request: Request,
    scan_id: ScanId,
    _: Bearer,
    include_deleted: IncludeDeleted = False,
    no_redirect: NoRedirect = False,
) -> Response:
    services, role = _authorize(request, USER)
    if (redirect := _redirect(request, services, role, scan_id, no_redirect)) is not None:
        return redirect
    return _json(services.store.get_result(scan_id, include_deleted=include_deleted))


@router.put("/scan/{scan_id}/result", summary="Store a partial or final result (scanner)", tags=["scan"])
def put_result(request: Request, scan_id: ScanId, body: PutResultBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, SYSTEM)
    return _json(services.store.put_result(scan_id, body.skyscan_result, is_final=body.is_final))


@router.get(
    "/scan/{scan_id}/status", summary="A scan's computed state", tags=["scan"], response_model=ScanStatus
)
def get_status(request: Request, scan_id: ScanId, _: Bearer, no_redirect: NoRedirect = False) -> Response:
    services, role = _authorize(request, BOTH)
    if (redirect := _redirect(request, services, role, scan_id, no_redirect)) is not None:
        return redirect
    settings = services.settings
    return _json(
        services.store.get_status(
            scan_id, workers=settings.workers, logs_url_template=settings.logs_url_template
        )
    )


@router.post(
    "/scan/{scan_id}/ewms/workflow-id",
    summary="Record the workflow running a scan (scanner)",
    tags=["ewms"],
    response_model=Manifest,
)
def set_workflow_id(request: Request, scan_id: ScanId, body: WorkflowIdBody, _: Bearer) -> JSONResponse:
    services, _role = _authorize(request, SYSTEM)
    return _json(services.store.set_workflow_id(scan_id, body.workflow_id, body.ewms_address))
