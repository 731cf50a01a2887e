"""Who may use the console: a logged-in user (local account or OIDC), with a role.

``shifter`` sees every page and acts; ``observer`` sees every page and gets 403 on every action.
A page asked for without a session redirects to the login; an action (POST) without one is a 403.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fastapi import Request

from skymist.config import ConsoleUser
from skymist.console.passwords import verify_password
from skymist.console.sessions import COOKIE, SessionData, Signer


class Role(enum.StrEnum):
    SHIFTER = "shifter"
    OBSERVER = "observer"


class LoginRequiredError(Exception):
    """A page needs a logged-in user: the app answers with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class ForbiddenError(Exception):
    """The request is refused (403): no session for an action, a wrong CSRF token, an observer acting."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    session: SessionData

    @property
    def can_act(self) -> bool:
        return self.role == Role.SHIFTER


def check_local_login(users: list[ConsoleUser], name: str, password: str) -> ConsoleUser | None:
    """The local account ``name`` if ``password`` is its password (every hash is checked the same way,
    so an unknown name takes as long as a wrong password)."""
    found = None
    for user in users:
        if verify_password(password, user.password_hash) and user.name == name:
            found = user
    return found


def session_of(request: Request, signer: Signer) -> SessionData | None:
    return signer.session(request.cookies.get(COOKIE))


def principal(request: Request, signer: Signer) -> Principal | None:
    data = session_of(request, signer)
    if data is None:
        return None
    try:
        role = Role(data.role)
    except ValueError:
        return None
    return Principal(data.user, role, data)


def page_user(request: Request, signer: Signer) -> Principal:
    """The user of a page, or a redirect to the login page."""
    who = principal(request, signer)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(target)
    return who


def acting_user(request: Request, signer: Signer) -> Principal:
    """The user of an action: logged in and a shifter, else 403."""
    who = principal(request, signer)
    if who is None:
        raise ForbiddenError("no action without a logged-in user: log in first")
    if not who.can_act:
        raise ForbiddenError(f"{who.name} is an observer: observers see the pages but do not act")
    return who
