"""Logging in and out: a local account (name and password from ``console_users``) or OIDC.

The login form has its own CSRF token (in a short-lived signed cookie, before there is a session),
so no POST of the console is without one.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from skymist.console.auth import ForbiddenError, check_local_login, principal
from skymist.console.csrf import check_token, read_form
from skymist.console.oidc import OidcClient, OidcError
from skymist.console.responses import console_of, page, set_session
from skymist.console.sessions import COOKIE, LOGIN_COOKIE, new_session

router = APIRouter()
LOGIN_MAX_AGE_S = 600


def safe_next(target: str | None) -> str:
    """Only a path of this site (never ``//host`` or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/alerts"


def _login_state(request: Request) -> dict[str, object]:
    state = console_of(request).signer.loads(request.cookies.get(LOGIN_COOKIE)) or {}
    expires = state.get("expires")
    if not isinstance(expires, int | float) or expires < time.time():
        return {}
    return state


def _with_login_cookie(request: Request, response: Response, state: dict[str, object]) -> Response:
    console = console_of(request)
    response.set_cookie(
        LOGIN_COOKIE,
        console.signer.dumps({**state, "expires": time.time() + LOGIN_MAX_AGE_S}),
        max_age=LOGIN_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=console.app.settings.console_cookie_secure,
        path="/",
    )
    return response


def _form_page(request: Request, next_url: str, error: str | None = None, status_code: int = 200) -> Response:
    console = console_of(request)
    state = _login_state(request)
    token = str(state.get("csrf") or secrets.token_urlsafe(32))
    response = page(
        request,
        "login.html.j2",
        status_code=status_code,
        login_csrf=token,
        next_url=next_url,
        error=error,
        local_login=console.local_login,
        oidc=console.oidc is not None,
    )
    return _with_login_cookie(request, response, {**state, "csrf": token})


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _form_page(request, safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    form = await read_form(request)
    state = _login_state(request)
    if not state.get("csrf"):
        raise ForbiddenError("the login form expired: reload the page and try again")
    check_token(form, str(state["csrf"]))
    next_url = safe_next(form.get("next"))
    user = check_local_login(
        console.app.settings.console_users, form.get("name", ""), form.get("password", "")
    )
    if user is None:
        return _form_page(request, next_url, "wrong name or password", status_code=401)
    response = RedirectResponse(next_url, status_code=303)
    set_session(
        response, console, new_session(user.name, user.role, console.app.settings.console_session_max_age_s)
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    console = console_of(request)
    who = principal(request, console.signer)
    form = await read_form(request)
    if who is not None:
        check_token(form, who.session.csrf)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _oidc(request: Request) -> OidcClient:
    client = console_of(request).oidc
    if client is None:
        raise ForbiddenError("OIDC login is not configured (console_oidc_issuer, console_oidc_client_id)")
    return client


@router.get("/auth/login")
def oidc_start(request: Request, next: str | None = None) -> Response:
    client = _oidc(request)
    state, nonce = client.new_state()
    try:
        target = client.authorization_url(state, nonce)
    except OidcError as exc:
        return _form_page(request, safe_next(next), str(exc), status_code=502)
    response = RedirectResponse(target, status_code=303)
    return _with_login_cookie(request, response, {"state": state, "nonce": nonce, "next": safe_next(next)})


@router.get("/auth/callback")
def oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
    console = console_of(request)
    client = _oidc(request)
    login_state = _login_state(request)
    expected = str(login_state.get("state") or "")
    if not code or not expected or not secrets.compare_digest(state, expected):
        raise ForbiddenError("OIDC login: the state does not match this browser's login; log in again")
    next_url = safe_next(str(login_state.get("next") or ""))
    try:
        user = client.exchange(code, str(login_state.get("nonce") or ""))
    except OidcError as exc:
        return _form_page(request, next_url, f"OIDC login failed: {exc}", status_code=401)
    response = RedirectResponse(next_url, status_code=303)
    set_session(
        response, console, new_session(user.name, user.role, console.app.settings.console_session_max_age_s)
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def login_url(next_url: str) -> str:
    return f"/login?next={quote(next_url, safe='/')}"
