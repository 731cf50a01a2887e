"""Telling a store outage (retry later, the message is not at fault) from a message the store refuses."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from skymist.store.limits import storable_text

_OUTAGES = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError, ConnectionError)


def is_store_outage(exc: BaseException) -> bool:
    """True for errors of the store itself (down, restarting, connection lost, disk full, deadlock,
    serialization failure): retrying the same message later is right, dead-lettering it is not."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _OUTAGES)


def database_error_text(exc: BaseException) -> str:
    """The database's own words (first line, without the statement or its parameters), storable."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(original).strip().splitlines() or [""])[0]
    return storable_text(f"{type(original).__name__}: {first}", 500)
