"""``GET /openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``: the API's own description.

They need a token of either role, as every route does (403 without one), unless the setting
``public_api_docs`` opens them to anyone. The two pages carry the document inline (a browser
sends no bearer token when a page fetches ``/openapi.json``), so a page answered to a token
holder needs nothing more from this service; the viewers themselves load from the jsDelivr CDN,
as FastAPI's own pages do.
"""

from __future__ import annotations

import html
import json
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from skyscan.server.auth import Role
from skyscan.server.openapi import document

EITHER_ROLE: Final = frozenset({Role.USER, Role.SYSTEM})

SWAGGER_UI: Final = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Swagger UI</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script id="openapi-document" type="application/json">{spec}</script>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({{
  spec: JSON.parse(document.getElementById("openapi-document").textContent),
  dom_id: "#swagger-ui",
  deepLinking: true,
}});
</script>
</body></html>
"""

REDOC: Final = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - ReDoc</title></head>
<body><div id="redoc"></div>
<script id="openapi-document" type="application/json">{spec}</script>
<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
<script>
Redoc.init(JSON.parse(document.getElementById("openapi-document").textContent), {{}},
  document.getElementById("redoc"));
</script>
</body></html>
"""

router = APIRouter(include_in_schema=False)


def _document(request: Request) -> dict[str, Any]:
    """The document, for a caller with a token unless ``public_api_docs`` (else 403)."""
    services = request.app.state.services
    if not services.settings.public_api_docs:
        services.tokens.authorize(request.headers.get("authorization"), EITHER_ROLE)
    return document(request.app, request.app.state.api_routes, services.settings, services.tags)


def _page(template: str, doc: dict[str, Any]) -> HTMLResponse:
    # JSON inside <script>: no "<", ">" or "&" can end the element or open a comment
    spec = json.dumps(doc).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return HTMLResponse(template.format(title=html.escape(str(doc["info"]["title"])), spec=spec))


@router.get("/openapi.json")
def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(_document(request))


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(SWAGGER_UI, _document(request))


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _page(REDOC, _document(request))
