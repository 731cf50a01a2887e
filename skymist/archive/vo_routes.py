"""The archive's Virtual Observatory endpoints as one FastAPI router: ``GET /scs`` (the Simple Cone
Search, SCS 1.03) and the other queries that answer VOTables of alerts: ``POST /regions``, the alerts
whose 90% region intersects a MOC (:mod:`skymist.archive.region_query`).

:func:`vo_router` is mounted on the daemon's HTTP application (:mod:`skymist.runtime.http_app`) and on
``skymist catalogue serve``'s. Answers are ``text/xml`` (SCS 1.03) with HTTP 200, errors included: an
SCS client reads the error from the document (``INFO name="Error"``), not from the status.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from skymist.archive.cone import RegionCache
from skymist.archive.regions import MAX_MOC_BYTES
from skymist.archive.votable import SCS_MEDIA_TYPE
from skymist.config import Settings

#: the region query's answer (a VOTable; not bound by SCS's text/xml)
VOTABLE_MEDIA_TYPE = "application/x-votable+xml"


def vo_router(settings: Settings, sessions: sessionmaker[Session]) -> APIRouter:
    """The VO routes over the store of ``sessions`` (FastAPI reads the routes' annotations: the
    names they use are imported at the top)."""
    from skymist.archive import scs

    cache = RegionCache(settings, sessions)
    router = APIRouter()

    @router.get("/scs")
    def cone_search(request: Request) -> Response:
        """IVOA Simple Cone Search 1.03: RA, DEC, SR (decimal degrees), VERB (1-3); names in any case."""
        body = scs.answer(cache.regions, request.query_params.multi_items())
        return Response(body, media_type=SCS_MEDIA_TYPE)

    @router.post("/regions")
    async def region_query(request: Request) -> Response:
        """The alerts whose 90% region intersects a MOC (the body, or url= a file in the archive)."""
        from starlette.concurrency import run_in_threadpool

        from skymist.archive import region_query as regions

        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_MOC_BYTES:
                break  # read_moc refuses it, naming the limit
        params = request.query_params.multi_items()
        status, answer = await run_in_threadpool(regions.answer, settings, cache.regions, bytes(body), params)
        return Response(answer, status_code=status, media_type=VOTABLE_MEDIA_TYPE)

    return router
