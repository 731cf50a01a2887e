"""The lifecycle of a scan inside skyscan: an enum and the table of allowed transitions.

This is the service's own bookkeeping; SkyDriver's ``scan_state`` shown to clients is computed
from the manifest (see :func:`skyscan.server.views.scan_state`). A transition missing from
:data:`TRANSITIONS` is a bug and raises :class:`skybase.states.IllegalTransitionError`.
"""

from __future__ import annotations

import enum
from typing import Final

from skybase.states import checked


class Lifecycle(enum.StrEnum):
    QUEUED = "queued"
    """In the backlog, waiting for a free slot."""
    LAUNCHED = "launched"
    """Taken out of the backlog for external scanners (``run_scans`` false); no scanner has
    posted its workflow id yet."""
    STARTING = "starting"
    """Handed to a scanner (workflow id set), no report from it yet."""
    RUNNING = "running"
    """The scanner has reported at least once."""
    FINISHED = "finished"
    """The final result is stored (success)."""
    ABORTED = "aborted"
    """Deleted or aborted by a user; the scanner was told to stop."""
    FAILED = "failed"
    """The scanner failed, or the scan was orphaned more than ``max_restarts`` times."""


TRANSITIONS: Final[dict[Lifecycle, frozenset[Lifecycle]]] = {
    # a final result may come before any workflow id (a scanner not started by the backlog)
    Lifecycle.QUEUED: frozenset(
        {Lifecycle.STARTING, Lifecycle.LAUNCHED, Lifecycle.FINISHED, Lifecycle.ABORTED}
    ),
    Lifecycle.LAUNCHED: frozenset({Lifecycle.STARTING, Lifecycle.FINISHED, Lifecycle.ABORTED}),
    Lifecycle.STARTING: frozenset(
        {Lifecycle.RUNNING, Lifecycle.FINISHED, Lifecycle.ABORTED, Lifecycle.FAILED, Lifecycle.QUEUED}
    ),
    Lifecycle.RUNNING: frozenset({Lifecycle.FINISHED, Lifecycle.ABORTED, Lifecycle.FAILED, Lifecycle.QUEUED}),
    Lifecycle.FINISHED: frozenset(),
    Lifecycle.ABORTED: frozenset(),
    Lifecycle.FAILED: frozenset(),
}
ACTIVE: Final = frozenset({Lifecycle.STARTING, Lifecycle.RUNNING})


def transition(scan_id: str, current: Lifecycle, target: Lifecycle) -> Lifecycle:
    """``target`` if the table allows it from ``current``, else ``IllegalTransitionError``."""
    return checked(TRANSITIONS, current, target, f"scan {scan_id}")
