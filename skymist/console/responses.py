"""Rendering a page for the user who asked, and the session cookie's attributes."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from skymist.console.auth import principal
from skymist.console.context import Console
from skymist.console.sessions import COOKIE, SessionData


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def set_session(response: Response, console: Console, data: SessionData) -> None:
    settings = console.app.settings
    response.set_cookie(
        COOKIE,
        console.signer.session_cookie(data),
        max_age=int(settings.console_session_max_age_s),
        httponly=True,
        samesite="lax",
        secure=settings.console_cookie_secure,
        path="/",
    )


def page(request: Request, template: str, status_code: int = 200, **variables: Any) -> HTMLResponse:
    """The page ``template`` for the request's user; a flash message of the session is shown once."""
    console = console_of(request)
    who = principal(request, console.signer)
    flash = who.session.flash if who is not None else None
    html = console.pages.get_template(template).render(
        user=who,
        csrf=who.session.csrf if who is not None else "",
        flash=flash,
        **variables,
    )
    response = HTMLResponse(html, status_code=status_code)
    if who is not None and flash:
        set_session(response, console, who.session.with_flash(None))
    return response
