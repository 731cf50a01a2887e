"""Logging in and out: a local account (name and password from ``console_users``) or OIDC.

The login form has its own CSRF token (in the short-lived signed login cookie, before there is a
session), so no POST of the console is without one. Local logins are throttled per account and per
address (:mod:`skymist.console.throttle`): a locked-out login gets 429 with the time it may retry.
Each login creates a new session in the store (the browser's old one, if any, is ended); logout
deletes it.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from skymist.console import sessions, throttle
from skymist.console.accounts import check_local_login
from skymist.console.auth import ForbiddenError, forget_principal, principal
from skymist.console.csrf import check_token, read_form
from skymist.console.login_cookie import COOKIE as LOGIN_COOKIE
from skymist.console.login_cookie import MAX_AGE_S as LOGIN_MAX_AGE_S
from skymist.console.oidc import OidcClient, OidcError
from skymist.console.responses import console_of, page, set_session_cookie
from skymist.console.sessions import COOKIE, Source

router = APIRouter()
DEFAULT_NEXT = "/alerts"
#: a path of this site: starts with one ``/`` (never ``//host`` or ``/\\host``), printable ASCII only
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]{0,2000}")


def safe_next(target: str | None) -> str:
    """Only a path of this site (never ``//host``, a scheme or a control character): no open redirect."""
    if target and _LOCAL_PATH.fullmatch(target) and "\\" not in target:
        return target
    return DEFAULT_NEXT


def _login_state(request: Request) -> dict[str, str]:
    return console_of(request).login_cookies.loads(request.cookies.get(LOGIN_COOKIE))


def _with_login_cookie(request: Request, response: Response, state: dict[str, str]) -> Response:
    console = console_of(request)
    response.set_cookie(
        LOGIN_COOKIE,
        console.login_cookies.dumps(state),
        max_age=LOGIN_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=console.app.settings.console_cookie_secure,
        path="/",
    )
    return response


def _form_page(
    request: Request,
    next_url: str,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    console = console_of(request)
    state = _login_state(request)
    token = state.get("csrf") or secrets.token_urlsafe(32)
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
    response.headers.update(headers or {})
    return _with_login_cookie(request, response, {**state, "csrf": token})


def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _logged_in(request: Request, next_url: str, user: str, role: str, source: Source,
               refresh_token: str | None = None) -> Response:  # fmt: skip
    """A new session (the browser's previous one ended: no session fixation) and the way back."""
    console = console_of(request)
    old = principal(request)
    if old is not None:
        sessions.end(console.app.sessions, old.session.key)
    token = sessions.create(console.app.sessions, console.app.settings, console.clock(), user, role, source,
                            refresh_token)  # fmt: skip
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, console, token)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _form_page(request, safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    settings = console.app.settings
    form = await read_form(request)
    state = _login_state(request)
    if not state.get("csrf"):
        raise ForbiddenError("the login form expired: reload the page and try again")
    check_token(form, state["csrf"])
    next_url = safe_next(form.get("next"))
    name, address, now = form.get("name", "")[:100], _client_address(request), console.clock()
    lockout = throttle.locked_out(console.app.sessions, name, address, now)
    if lockout is None:
        user = check_local_login(
            console.app.sessions, settings.console_users, name, form.get("password", ""), now
        )
        if user is not None:
            throttle.record_success(console.app.sessions, user.name)
            return _logged_in(request, next_url, user.name, user.role, Source.LOCAL)
        lockout = throttle.record_failure(console.app.sessions, settings, name, address, now)
        if lockout is None:
            return _form_page(request, next_url, "wrong name or password", status_code=401)
    retry = {"Retry-After": str(lockout.retry_after_s(now))}
    return _form_page(request, next_url, lockout.message(now), status_code=429, headers=retry)


@router.post("/logout")
async def logout(request: Request) -> Response:
    console = console_of(request)
    who = principal(request)
    form = await read_form(request)
    if who is not None:
        check_token(form, who.session.csrf)
        sessions.end(console.app.sessions, who.session.key)
        forget_principal(request)
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
    try:
        start = client.start()
    except OidcError as exc:
        return _form_page(request, safe_next(next), str(exc), status_code=502)
    response = RedirectResponse(start.url, status_code=303)
    state = {
        "state": start.state,
        "nonce": start.nonce,
        "verifier": start.code_verifier,
        "next": safe_next(next),
    }
    return _with_login_cookie(request, response, state)


@router.get("/auth/callback")
def oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
    client = _oidc(request)
    login_state = _login_state(request)
    expected = login_state.get("state", "")
    if not code or not expected or not secrets.compare_digest(state.encode(), expected.encode()):
        raise ForbiddenError("OIDC login: the state does not match this browser's login; log in again")
    next_url = safe_next(login_state.get("next"))
    try:
        user = client.exchange(code, login_state.get("nonce", ""), login_state.get("verifier", ""))
    except OidcError as exc:
        return _form_page(request, next_url, f"OIDC login failed: {exc}", status_code=401)
    return _logged_in(request, next_url, user.name, user.role, Source.OIDC, user.refresh_token)


def login_url(next_url: str) -> str:
    return f"/login?next={quote(next_url, safe='/')}"
