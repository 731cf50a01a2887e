"""The audit log: who did what to which record, when and why (every package that acts for a human
writes it: alerts, Circulars, scans, the commands), and :class:`ActionError`, a human action that
cannot be done as asked."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.orm import Session

from skymist.store.product_models import AuditEntry
from skymist.store.types import utcnow


class ActionError(ValueError):
    """A human action (approve, reject, retract) that cannot be done as asked."""


#: the actor recorded for what SkyMist itself does as a consequence of a human action
SYSTEM_ACTOR = "skymist"


def actor_name(by: str | None) -> str:
    """``by`` if given, else the login name ($USER); an empty result is an error naming the field."""
    name = (by if by is not None else os.environ.get("USER", "")).strip()
    if not name:
        raise ActionError("by = '': say who acts (--by NAME, or set $USER)")
    if len(name) > 100:
        raise ActionError(f"by = {name[:40]!r}...: at most 100 characters")
    return name


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_kind: str,
    subject_id: int,
    alert_id: int | None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit row in the caller's transaction (flushed: its id is set)."""
    entry = AuditEntry(
        at=utcnow(),
        actor=actor,
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        alert_id=alert_id,
        reason=reason,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry
