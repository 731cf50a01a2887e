"""``create_app(settings)``: the FastAPI application of ``skyscan serve``.

Building the app opens nothing; on start (lifespan) the tables are created and the backlog
launcher starts; on stop the launcher puts its running scans back in the backlog.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from skyscan.server import api_docs
from skyscan.server.auth import TokenTable
from skyscan.server.backlog import Launcher
from skyscan.server.docker_tags import TagCatalogue
from skyscan.server.errors import ApiError
from skyscan.server.reason import REASON_HEADER, phrase
from skyscan.server.routes import ScanReplacedError, Services, router
from skyscan.server.store import ScanStore
from skyscan.settings import SkyscanSettings

LOG = logging.getLogger(__name__)


def error_response(
    status: int, message: str, reason: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """``{"code", "error"}``; the reason phrase (default: the message) goes in the status line."""
    response = JSONResponse({"code": status, "error": message}, status_code=status, headers=headers)
    response.raw_headers.append((REASON_HEADER, phrase(message if reason is None else reason)))
    return response


def describe_validation(errors: Any) -> str:
    """One message naming each refused field (and value), SkyDriver-style."""
    parts: list[str] = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc)
        kind = error.get("type", "")
        if kind == "extra_forbidden":
            text = f"unrecognized arguments: {field}"
        elif kind == "json_invalid":
            text = "the request body is not valid JSON"
        else:
            msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if kind not in ("value_error", "missing") and "input" in error:
                msg += f" (got {error['input']!r:.100})"
            text = msg if not field or msg.startswith(f"{field}:") else f"argument {field}: {msg}"
        if text not in parts:
            parts.append(text)
    return "; ".join(parts) or "invalid request"


def allowed_methods(request: Request, routes: Sequence[APIRoute]) -> list[str]:
    """The methods the routes answer at the request's path."""
    methods: set[str] = set()
    for route in routes:
        # the route's path matches when the request, made with one of its methods, would reach it
        own = route.methods or set()
        match, _ = route.matches({**request.scope, "method": next(iter(own), "GET")})
        if match is Match.FULL:
            methods |= own
    return sorted(methods)


def create_app(settings: SkyscanSettings, *, on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The service, from its settings. ``on_ready`` is called once it accepts requests."""
    if not settings.user_tokens:
        raise ValueError("user_tokens: configure at least one token of the 'user' role (SKYSCAN_USER_TOKENS)")
    store = ScanStore(settings.database_url)
    launcher = Launcher(store, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(store.create_tables)
        launcher.start()
        LOG.info(
            "skyscan started",
            extra={"database": store.safe_url, "owner": launcher.owner, "pool": settings.pool_kind},
        )
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await run_in_threadpool(launcher.stop)
            store.dispose()
            LOG.info("skyscan stopped", extra={"owner": launcher.owner})

    # the document and its pages are routes of their own (api_docs): behind the token by default
    app = FastAPI(
        title="skyscan",
        summary="A SkyDriver-compatible (REST API v2.4.x) sky-scan service",
        version="2.4.1",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = Services(
        store,
        launcher,
        TokenTable(settings.user_tokens, settings.system_tokens),
        settings,
        TagCatalogue(settings.scanner_images_dir, settings.min_scanner_tag),
    )

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.reason)

    @app.exception_handler(ScanReplacedError)
    async def _redirected(_: Request, exc: ScanReplacedError) -> Response:
        return exc.response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, describe_validation(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only its first route's (RFC 9110)
            headers["Allow"] = ", ".join(allowed_methods(request, app.state.api_routes))
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        LOG.error("request failed", exc_info=exc, extra={"method": request.method, "path": request.url.path})
        return error_response(500, "internal server error")

    app.include_router(router)
    app.include_router(api_docs.router)
    app.state.api_routes = [route for route in router.routes if isinstance(route, APIRoute)]
    return app
