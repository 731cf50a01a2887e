"""Plain JSON-able views of an alert's Circulars and audit entries (for the CLI)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from skybase.json_types import JSONObject
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import AuditEntry, Circular


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def circular_view(circular: Circular, outbox: OutboxRow | None) -> JSONObject:
    return {
        "id": circular.id,
        "kind": circular.kind.value,
        "state": circular.state.value,
        "state_reason": circular.state_reason,
        "revision": circular.revision,
        "localization_id": circular.localization_id,
        "subject": circular.subject,
        "body": circular.body,
        "created_at": _iso(circular.created_at),
        "approved_by": circular.approved_by,
        "approved_at": _iso(circular.approved_at),
        "rejected_by": circular.rejected_by,
        "rejected_at": _iso(circular.rejected_at),
        "submitted_at": _iso(circular.submitted_at),
        "outbox": None
        if outbox is None
        else {
            "id": outbox.id,
            "state": outbox.state.value,
            "attempts": outbox.attempts,
            "delivery_ref": outbox.delivery_ref,
            "last_error": outbox.last_error,
        },
    }


def audit_view(entry: AuditEntry) -> JSONObject:
    return {
        "id": entry.id,
        "at": _iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": f"{entry.subject_kind} {entry.subject_id}",
        "reason": entry.reason,
        "details": entry.details,
    }


def alert_circulars_view(session: Session, alert: Alert) -> JSONObject:
    """The alert, its Circulars (newest first) and its audit entries (oldest first)."""
    rows = session.execute(
        select(Circular, OutboxRow)
        .outerjoin(OutboxRow, OutboxRow.id == Circular.outbox_id)
        .where(Circular.alert_id == alert.id)
        .order_by(Circular.id.desc())
    ).all()
    entries = session.execute(
        select(AuditEntry).where(AuditEntry.alert_id == alert.id).order_by(AuditEntry.id)
    ).scalars()
    return {
        "alert": {
            "id": alert.id,
            "name": alert.name,
            "run_id": alert.run_id,
            "event_id": alert.event_id,
            "stream": alert.stream,
            "state": alert.state.value,
        },
        "circulars": [circular_view(circular, outbox) for circular, outbox in rows],
        "audit": [audit_view(entry) for entry in entries],
    }
