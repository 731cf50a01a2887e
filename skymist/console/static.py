"""The console's style sheet, its one small script (live progress, the health banner) and its icon,
rendered from the templates folder and served with long-lived caching off (they are tiny). The icon
is also ``/favicon.ico``, where a browser asks for one on its own (no page logs a 404)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from skymist.console.responses import console_of

router = APIRouter()
FILES = {"console.css": "text/css", "console.js": "text/javascript", "favicon.svg": "image/svg+xml"}


@router.get("/static/{name}")
def static_file(request: Request, name: str) -> Response:
    if name not in FILES:
        return Response(status_code=404)
    text = console_of(request).pages.get_template(f"{name}.j2").render()
    return Response(text, media_type=FILES[name])


@router.get("/favicon.ico")
def favicon(request: Request) -> Response:
    return static_file(request, "favicon.svg")
