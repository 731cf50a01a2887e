"""The daemon's one HTTP application: every part an operator serves, on one port.

=================  ==========================================  =====================================
part               paths                                       switched by
=================  ==========================================  =====================================
operations         ``/metrics``, ``/healthz``, ``/readyz``     ``http_metrics_enabled``
cone search        ``/scs`` (IVOA SCS 1.03)                    ``http_cone_search_enabled``
catalogue          ``/catalogue/`` (the HTML catalogue and     ``http_catalogue_enabled``
                   the records: the folder ``archive_dir``)
console            every other path (``/``, ``/login``, ...)   ``console_enabled`` (or ``--jobs
                                                               ...,console``)
=================  ==========================================  =====================================

The console is its own FastAPI application (:func:`skymist.console.app.create_console`), mounted
unchanged under ``/`` after the other parts: its sessions, CSRF checks, security headers and error
pages apply to its paths exactly as when it is served alone, and to no other.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Any

from skymist.app import App
from skymist.config import Settings
from skymist.metrics import Readiness, ops_router

CATALOGUE_PATH = "/catalogue"


@dataclass(frozen=True)
class HttpParts:
    """Which parts the application serves."""

    ops: bool = True
    cone_search: bool = True
    catalogue: bool = True
    console: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, console: bool) -> HttpParts:
        return cls(
            ops=settings.http_metrics_enabled,
            cone_search=settings.http_cone_search_enabled,
            catalogue=settings.http_catalogue_enabled,
            console=console,
        )

    def names(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name)]


def http_address(
    settings: Settings, *, port: int | None, host: str | None, console: bool
) -> tuple[str, int] | None:
    """Where the daemon listens: ``port`` (``--http-port``) or ``http_port`` on ``host`` or
    ``metrics_host``; else, when the console runs, ``console_host:console_port``; else nowhere."""
    if port is not None or settings.http_port is not None:
        chosen = port if port is not None else settings.http_port
        assert chosen is not None
        return host or settings.metrics_host, chosen
    if console:
        return host or settings.console_host, settings.console_port
    return None


def create_http_app(
    app: App,
    parts: HttpParts,
    *,
    ready: Readiness | None = None,
    about: dict[str, object] | None = None,
) -> Any:
    """The FastAPI application of ``parts`` over ``app``'s store and metrics."""
    from fastapi import FastAPI, Request
    from fastapi.responses import RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles

    api = FastAPI(title="SkyMist", docs_url=None, redoc_url=None, openapi_url=None)

    @api.middleware("http")
    async def no_sniffing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    if parts.ops:
        api.include_router(ops_router(app.metrics, ready, about))
    if parts.cone_search:
        from skymist.archive.vo_routes import vo_router

        api.include_router(vo_router(app.settings, app.sessions))
    if parts.catalogue:

        @api.get(CATALOGUE_PATH, include_in_schema=False)
        def catalogue_folder() -> Response:
            return RedirectResponse(f"{CATALOGUE_PATH}/", status_code=308)

        class Folder(StaticFiles):
            """Files only from inside the folder (no symlinks out of it), ``index.html`` for a
            folder; 404 (not 500) while the archive folder does not exist yet."""

            async def check_config(self) -> None:
                if self.directory is not None and os.path.isdir(self.directory):
                    await super().check_config()

        pages = Folder(directory=app.settings.archive_root, html=True, check_dir=False)
        api.mount(CATALOGUE_PATH, pages, name="catalogue")
    if parts.console:
        from skymist.console.app import create_console

        api.mount("/", create_console(app), name="console")  # last: every other path is the console's
    return api
