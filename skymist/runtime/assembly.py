"""Assembly: the application with every layer wired in, as commands, the daemon and tests use it."""

from __future__ import annotations

from skymist.app import App, open_app
from skymist.config import Settings
from skymist.runtime import lifecycle


def build_app(settings: Settings) -> App:
    """The application with the alert lifecycle wired in (:func:`skymist.runtime.lifecycle.wire`:
    message handlers, outbox hooks of the alerts and the archive)."""
    return lifecycle.wire(open_app(settings))
