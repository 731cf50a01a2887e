"""Who may use the console: a logged-in user (local account or OIDC) with a live session in the
store, and a role.

``shifter`` sees every page and acts; ``observer`` sees every page and gets 403 on every action.
A page or an action (GET or POST) asked for without a session redirects to the login page, which
brings the user back to it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fastapi import Request

from skymist.console import sessions
from skymist.console.context import console_of
from skymist.console.recheck import due, recheck
from skymist.console.sessions import COOKIE, SessionData

#: where a request keeps its looked-up user (one store lookup per request)
_SCOPE_KEY = "skymist.console.principal"


class Role(enum.StrEnum):
    SHIFTER = "shifter"
    OBSERVER = "observer"


class LoginRequiredError(Exception):
    """A page needs a logged-in user: the app answers with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class ForbiddenError(Exception):
    """The request is refused (403): a wrong CSRF token, an observer acting."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    session: SessionData

    @property
    def can_act(self) -> bool:
        return self.role == Role.SHIFTER


def _lookup(request: Request) -> Principal | None:
    console = console_of(request)
    now = console.clock()
    # the pages' background polls (live.json, status.json) are not use: an unattended page goes idle
    polled = request.url.path.endswith(".json")
    data = sessions.find(
        console.app.sessions, console.app.settings, request.cookies.get(COOKIE), now, touch=not polled
    )
    if data is not None and due(console, data, now):
        data = recheck(console, data, now)
    if data is None:
        return None
    try:
        role = Role(data.role)
    except ValueError:
        return None
    return Principal(data.user, role, data)


def principal(request: Request) -> Principal | None:
    """The request's user (looked up once per request), or None."""
    if _SCOPE_KEY not in request.scope:
        request.scope[_SCOPE_KEY] = _lookup(request)
    who: Principal | None = request.scope[_SCOPE_KEY]
    return who


def forget_principal(request: Request) -> None:
    """The session changed (a flash shown, a logout): look it up again if asked."""
    request.scope.pop(_SCOPE_KEY, None)


def _here(request: Request) -> str:
    if request.method == "GET" and request.url.query:
        return f"{request.url.path}?{request.url.query}"
    return request.url.path


def page_user(request: Request) -> Principal:
    """The user of a page, or a redirect to the login page."""
    who = principal(request)
    if who is None:
        raise LoginRequiredError(_here(request))
    return who


def acting_user(request: Request) -> Principal:
    """The user of an action: logged in (else a redirect to the login page) and a shifter (else 403)."""
    who = page_user(request)
    if not who.can_act:
        raise ForbiddenError(f"{who.name} is an observer: observers see the pages but do not act")
    return who
