"""The OIDC session's role, confirmed again by the issuer at least every ``console_session_recheck_s``.

A due session is re-checked under a lock of its row (one check, whichever request comes first; the
refresh token is used once): the issuer's refusal deletes the session (the user logs in again); the
groups it reports set the role (a shifter removed from the shifter group is an observer from now
on). An issuer that cannot be reached confirms nothing: the session is an observer's until a check
succeeds, tried again after at most :data:`RETRY_UNREACHABLE_S`.
"""

from __future__ import annotations

import datetime as dt
import logging

from skymist.console.context import Console
from skymist.console.oidc import OidcError, OidcRefusedError
from skymist.console.sessions import SessionData, Source, data_of
from skymist.store.console_models import ConsoleSession

log = logging.getLogger(__name__)
RETRY_UNREACHABLE_S = 30.0


def due(console: Console, data: SessionData, now: dt.datetime) -> bool:
    recheck_s = console.app.settings.console_session_recheck_s
    return data.source == Source.OIDC and (now - data.checked_at).total_seconds() >= recheck_s


def recheck(console: Console, data: SessionData, now: dt.datetime) -> SessionData | None:
    """The session after its re-check; None when it has ended."""
    recheck_s = console.app.settings.console_session_recheck_s
    with console.app.sessions() as session, session.begin():
        row = session.get(ConsoleSession, data.key, with_for_update=True)
        if row is None:
            return None
        if (now - row.checked_at).total_seconds() < recheck_s:
            return data_of(row)  # another request checked it meanwhile
        if console.oidc is None:
            session.delete(row)
            return None
        try:
            user = console.oidc.recheck(row.user_name, row.refresh_token)
        except OidcRefusedError as exc:
            log.info("console session ended by the issuer", extra={"user": row.user_name, "why": str(exc)})
            session.delete(row)
            return None
        except OidcError as exc:
            log.warning("console session not re-checked", extra={"user": row.user_name, "why": str(exc)})
            if row.role != "observer":
                row.flash = f"your role could not be confirmed ({exc}): read-only until it is"
            row.role = "observer"
            row.checked_at = now - dt.timedelta(seconds=max(0.0, recheck_s - RETRY_UNREACHABLE_S))
            return data_of(row)
        if user.role != row.role:
            log.info("console role changed", extra={"user": row.user_name, "role": user.role})
            row.flash = f"your role is now {user.role} (the observatory's account groups changed)"
        row.role, row.refresh_token, row.checked_at = user.role, user.refresh_token, now
        return data_of(row)
