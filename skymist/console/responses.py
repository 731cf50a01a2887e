"""Rendering a page for the user who asked, and the session cookie's attributes."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from skymist.console import sessions
from skymist.console.auth import principal
from skymist.console.context import Console, console_of
from skymist.console.sessions import COOKIE

__all__ = ["console_of", "page", "set_session_cookie"]


def set_session_cookie(response: Response, console: Console, token: str) -> None:
    """Give the browser the session's opaque id."""
    settings = console.app.settings
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.console_session_max_age_s),
        httponly=True,
        samesite="lax",
        secure=settings.console_cookie_secure,
        path="/",
    )


def page(request: Request, template: str, status_code: int = 200, **variables: Any) -> HTMLResponse:
    """The page ``template`` for the request's user; a flash message of the session is shown once."""
    console = console_of(request)
    who = principal(request)
    flash = who.session.flash if who is not None else None
    if who is not None and flash:
        sessions.clear_flash(console.app.sessions, who.session.key, flash)
    if who is not None:  # every page of a logged-in user: the health banner, kept fresh by the script
        variables.setdefault("banner", console.health.get(console.app))
        variables.setdefault("live_every_ms", round(console.app.settings.console_live_refresh_s * 1000))
    html = console.pages.get_template(template).render(
        user=who,
        csrf=who.session.csrf if who is not None else "",
        flash=flash,
        **variables,
    )
    return HTMLResponse(html, status_code=status_code)
