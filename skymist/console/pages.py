"""The console's pages: the alert list, one alert, the health summary, and the files they link to
(each product's exact bytes, the skymap files, the archive record and catalogue page)."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from skybase.json_types import JSONObject
from skymist.circulars.errors import AlertNotFoundError
from skymist.circulars.lookup import alert_by_ref
from skymist.console.auth import page_user
from skymist.console.responses import console_of, page
from skymist.console.views import (
    SKYMAP_FILES,
    alert_detail,
    alert_rows,
    attention_key,
    attention_order,
    label,
    scan_live,
    skymap_path,
)
from skymist.files import PathOutsideRootError, path_inside
from skymist.runtime.checks import Probe, overall, run_checks
from skymist.store.db import one_snapshot
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import Localization
from skymist.store.scan_models import Scan

router = APIRouter()
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _alert(request: Request, alert_id: int) -> Alert:
    with console_of(request).app.sessions() as session:
        try:
            return alert_by_ref(session, alert_id)
        except AlertNotFoundError:
            raise HTTPException(404, f"no alert with id {alert_id}") from None


def _every_ms(request: Request) -> int:
    """How often the page's script asks for live progress (``console_live_refresh_s``), in ms."""
    return round(console_of(request).app.settings.console_live_refresh_s * 1000)


@router.get("/")
def home() -> Response:
    return RedirectResponse("/alerts", status_code=303)


#: the alert list's orders (``?sort=``)
SORTS = {"time": "newest event first", "attention": "needs attention first"}


def _rows(request: Request) -> list[JSONObject]:
    console = console_of(request)
    with console.app.sessions() as session:
        one_snapshot(session)
        return alert_rows(session, console.app.settings, console.clock())


@router.get("/alerts")
def alerts(request: Request, sort: str = "time") -> Response:
    page_user(request)
    if sort not in SORTS:
        raise HTTPException(400, f"sort = {sort!r}: one of {', '.join(SORTS)}")
    rows = _rows(request)
    if sort == "attention":
        rows.sort(key=attention_order)
    return page(
        request,
        "alerts.html.j2",
        alerts=rows,
        sort=sort,
        sorts=SORTS,
        attention=attention_key(rows),
        live_url="/alerts/live.json",
        live_every_ms=_every_ms(request),
    )


@router.get("/alerts/live.json")
def alerts_live(request: Request) -> JSONObject:
    page_user(request)
    rows = _rows(request)
    return {
        "scans": [scan for row in rows for scan in row["scans"]],
        "attention": attention_key(rows),
        "banner": console_of(request).health.get(console_of(request).app),
    }


@router.get("/status.json")
def status_json(request: Request) -> JSONObject:
    """What every page's script polls: the health banner."""
    page_user(request)
    console = console_of(request)
    return {"banner": console.health.get(console.app)}


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: int) -> Response:
    console = console_of(request)
    page_user(request)
    with console.app.sessions() as session:
        one_snapshot(session)
        try:
            alert = alert_by_ref(session, alert_id)
        except AlertNotFoundError:
            raise HTTPException(404, f"no alert with id {alert_id}") from None
        view = alert_detail(session, console.app.settings, alert)
    return page(
        request,
        "alert.html.j2",
        alert=view,
        live_url=f"/alerts/{alert_id}/live.json",
        live_every_ms=_every_ms(request),
    )


@router.get("/alerts/{alert_id}/live.json")
def alert_live(request: Request, alert_id: int) -> JSONObject:
    console = console_of(request)
    page_user(request)
    from sqlalchemy import select

    with console.app.sessions() as session:
        scans = session.execute(select(Scan).where(Scan.alert_id == alert_id).order_by(Scan.id)).scalars()
        live = [scan_live(scan) for scan in scans]
    return {"scans": live, "banner": console.health.get(console.app)}


@router.get("/alerts/{alert_id}/outbox/{row_id}/bytes")
def outbox_bytes(request: Request, alert_id: int, row_id: int) -> Response:
    """The row's payload exactly as sent (or to be sent), as a download: nothing added or decoded."""
    console = console_of(request)
    page_user(request)
    with console.app.sessions() as session:
        row = session.get(OutboxRow, row_id)
        if row is None or row.alert_id != alert_id:
            raise HTTPException(404, f"no outbox row {row_id} of alert {alert_id}")
        name = _SAFE_NAME.sub("_", f"outbox-{row.id}-{row.product}")
        return Response(
            bytes(row.payload),
            media_type=row.content_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


@router.get("/alerts/{alert_id}/skymap/{loc_id}/{kind}")
def skymap_file(request: Request, alert_id: int, loc_id: int, kind: str) -> Response:
    console = console_of(request)
    page_user(request)
    if kind not in SKYMAP_FILES:
        raise HTTPException(404, f"kind = {kind!r}: one of {', '.join(SKYMAP_FILES)}")
    with console.app.sessions() as session:
        loc = session.get(Localization, loc_id)
        if loc is None or loc.alert_id != alert_id:
            raise HTTPException(404, f"no localization {loc_id} of alert {alert_id}")
        path = skymap_path(loc, kind)
    if path is None or not path.is_file():
        raise HTTPException(404, f"localization {loc_id} has no {kind} file on this host's disk")
    media = {"png": "image/png", "pdf": "application/pdf"}.get(kind, "application/fits")
    return FileResponse(path, media_type=media, filename=path.name if kind != "png" else None)


@router.get("/alerts/{alert_id}/archive/{what}")
def archive_file(request: Request, alert_id: int, what: str) -> Response:
    """The alert's archive record (its RO-Crate metadata) or its catalogue page, when written."""
    console = console_of(request)
    page_user(request)
    name = label(_alert(request, alert_id))
    root = console.app.settings.archive_root
    files = {"record": ((name, "data/ro-crate-metadata.json"), "application/ld+json"),
             "page": ((f"{name}.html",), "text/html")}  # fmt: skip
    if what not in files:
        raise HTTPException(404, f"{what!r}: record or page")
    parts, media = files[what]
    try:
        path = path_inside(root, *parts)
    except PathOutsideRootError:
        raise HTTPException(404, f"the archive has no {what} of {name}: the name is not a folder") from None
    if not path.is_file():
        raise HTTPException(404, f"the archive has no {what} of {name} yet")
    return FileResponse(path, media_type=media)


@router.get("/health")
def health(request: Request) -> Response:
    console = console_of(request)
    page_user(request)
    probe = Probe(console.app)
    try:
        results = run_checks(probe)
    finally:
        probe.close()
    console.health.remember(results)  # the banner says what this page says
    return page(
        request, "health.html.j2", status=overall(results).name, checks=[r.to_dict() for r in results]
    )
