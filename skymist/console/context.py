"""What every request of the console uses: the application, the login cookie's signer, the page
templates, the OIDC client and the clock (sessions, lockouts and re-checks read the time from it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from skymist.app import App
from skymist.console.banner import HealthBanner
from skymist.console.login_cookie import LoginCookies
from skymist.console.oidc import OidcClient
from skymist.store.types import utcnow


def page_environment(folder: str | None = None) -> Environment:
    """Jinja for the console's pages: autoescape on for every template (data is always escaped)."""
    root = folder or str(resources.files("skymist_templates") / "console")
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["deg"] = lambda v, digits=2: "" if v is None else f"{float(v):.{digits}f}"
    env.filters["pct"] = lambda v: "-" if v is None else f"{float(v):.1f}%"
    return env


@dataclass
class Console:
    app: App
    login_cookies: LoginCookies
    pages: Environment
    oidc: OidcClient | None = None
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    health: HealthBanner = field(default_factory=HealthBanner)

    @property
    def local_login(self) -> bool:
        return bool(self.app.settings.console_users)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console
