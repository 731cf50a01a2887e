"""The console's style sheet and its one small script (live scan progress), rendered once from the
templates folder and served with long-lived caching off (they are tiny)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from skymist.console.responses import console_of

router = APIRouter()
FILES = {"console.css": "text/css", "console.js": "text/javascript"}


@router.get("/static/{name}")
def static_file(request: Request, name: str) -> Response:
    if name not in FILES:
        return Response(status_code=404)
    text = console_of(request).pages.get_template(f"{name}.j2").render()
    return Response(text, media_type=FILES[name])
