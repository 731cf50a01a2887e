"""What every request of the console uses: the application, the signer, the page templates."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from skymist.app import App
from skymist.console.oidc import OidcClient
from skymist.console.sessions import Signer


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
    signer: Signer
    pages: Environment
    oidc: OidcClient | None = None

    @property
    def local_login(self) -> bool:
        return bool(self.app.settings.console_users)
