"""The console's FastAPI application, built from an :class:`~skymist.app.App` (nothing at import)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from skymist.app import App
from skymist.console import forms, login, pages, static, trouble_page
from skymist.console.auth import ForbiddenError, LoginRequiredError
from skymist.console.context import Console, page_environment
from skymist.console.login_cookie import LoginCookies
from skymist.console.oidc import OidcClient
from skymist.console.responses import page

#: every answer: no framing, no sniffing, scripts and styles only from the console itself
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def make_console(app: App) -> Console:
    settings = app.settings
    secret = settings.console_session_secret
    key = secret.get_secret_value().encode() if secret is not None else secrets.token_bytes(32)
    oidc = None
    if settings.console_oidc_issuer and settings.console_oidc_client_id:
        base = (
            settings.console_base_url or f"http://{settings.console_host}:{settings.console_port}"
        ).rstrip("/")
        oidc = OidcClient(settings, f"{base}/auth/callback")
    return Console(app=app, login_cookies=LoginCookies(key), pages=page_environment(), oidc=oidc)


def create_console(app: App) -> FastAPI:
    """The web console of ``app``'s store: pages, actions, login."""
    api = FastAPI(title="SkyMist console", docs_url=None, redoc_url=None, openapi_url=None)
    api.state.console = make_console(app)

    @api.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @api.exception_handler(LoginRequiredError)
    async def to_login(request: Request, exc: LoginRequiredError) -> Response:
        return RedirectResponse(login.login_url(exc.next_url), status_code=303)

    @api.exception_handler(ForbiddenError)
    async def forbidden(request: Request, exc: ForbiddenError) -> Response:
        return page(request, "error.html.j2", status_code=403, title="Forbidden", message=str(exc))

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return page(request, "error.html.j2", status_code=exc.status_code, title=f"Error {exc.status_code}",
                    message=str(exc.detail))  # fmt: skip

    api.include_router(login.router)
    api.include_router(static.router)
    api.include_router(pages.router)
    api.include_router(forms.router)
    api.include_router(trouble_page.router)
    return api
