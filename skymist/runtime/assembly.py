"""Assembly: the application with every layer wired in, as commands, the daemon and tests use it."""

from __future__ import annotations

from skymist.alerts import outbox_hooks
from skymist.app import App, open_app
from skymist.archive import hooks as archive_hooks
from skymist.config import Settings


def build_app(settings: Settings) -> App:
    """The application with the domain's outbox hooks registered (alert lifecycle, archive)."""
    app = open_app(settings)
    outbox_hooks.register(app.outbox_hooks)
    archive_hooks.register(app.outbox_hooks, app)
    return app
