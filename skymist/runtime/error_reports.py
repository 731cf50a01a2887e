"""Optional error aggregation: the daemon's errors to Sentry (or a compatible service), with history.

Off unless ``sentry_dsn`` is set. Then every ERROR log record (a job that ended by an error, a sink
that failed, the store or broker unreachable for long) and every uncaught exception becomes one
Sentry event, with its traceback where there is one; lower records ride along as breadcrumbs. The
DSN is a secret: it is never logged. Local variables are not sent (a frame may hold a token), nor
anything about people (``data_collection``); no performance tracing.
"""

from __future__ import annotations

import logging
from importlib import metadata

from skymist.config import Settings

log = logging.getLogger(__name__)


def _release() -> str:
    try:
        return f"skymist@{metadata.version('skymist')}"
    except metadata.PackageNotFoundError:
        return "skymist@unknown"


def start_error_reports(settings: Settings, *, component: str = "daemon") -> bool:
    """Start sending errors to ``settings.sentry_dsn``; False (and nothing started) when unset."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        release=_release(),
        environment=settings.sentry_environment,
        # ERROR records are events, INFO and up their breadcrumbs; no log shipping (level None)
        integrations=[
            LoggingIntegration(level=None, event_level=logging.ERROR, breadcrumb_level=logging.INFO)
        ],
        auto_enabling_integrations=False,  # no instrumentation of the store, HTTP or web frameworks
        data_collection={"user_info": False, "stack_frame_variables": False},  # no people, no locals
        traces_sample_rate=None,
        debug=False,
    )
    sentry_sdk.set_tag("component", component)
    log.info("errors are reported to Sentry", extra={"environment": settings.sentry_environment})
    return True
