"""Plain JSON-able views of stored records, shared by the CLI and the demo."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from skybase.json_types import JSONObject
from skymist.outbox.queue import HELD_UNTIL
from skymist.states import OutboxState
from skymist.store.models import Alert, DeadLetter, OutboxRow
from skymist.store.scan_models import Scan

#: the products whose sending makes a revision public (the GCN notice and the VOEvent)
PUBLIC_PRODUCTS = frozenset({"notice_json", "voevent"})


def revision_status(alert: Alert, rows: list[OutboxRow], revision: int) -> str:
    """Whether a revision is public: ``published`` (its notice or VOEvent was sent; a mirrored GCN
    notice's revisions: ``published (GCN)``), ``held`` (waiting for a human's approval), ``pending``
    (due, not sent yet), ``cancelled``/``dead`` (never sent), or ``not published`` (no notice or
    VOEvent at all: an unclassified event)."""
    if alert.source == "gcn":
        return "published (GCN)"
    public = [row for row in rows if row.revision == revision and row.product in PUBLIC_PRODUCTS]
    states = {row.state for row in public}
    if OutboxState.SENT in states:
        return "published"
    waiting = [row for row in public if row.state in (OutboxState.PENDING, OutboxState.SENDING)]
    if any(row.next_attempt_at >= HELD_UNTIL for row in waiting):
        return "held"
    if waiting:
        return "pending"
    if OutboxState.DEAD in states:
        return "dead"
    if OutboxState.CANCELLED in states:
        return "cancelled"
    return "not published"


def published_revision(alert: Alert, rows: list[OutboxRow]) -> int | None:
    """The newest published revision of ``alert`` (``rows``: its outbox rows), else None."""
    published = [
        r.revision
        for r in alert.revisions
        if revision_status(alert, rows, r.revision).startswith("published")
    ]
    return max(published, default=None)


def alert_view(session: Session, alert: Alert, *, detail: bool = False) -> JSONObject:
    outbox = session.execute(
        select(OutboxRow).where(OutboxRow.alert_id == alert.id).order_by(OutboxRow.id)
    ).scalars()
    rows = list(outbox)
    view: JSONObject = {
        "id": alert.id,
        "name": alert.name,
        "run_id": alert.run_id,
        "event_id": alert.event_id,
        "stream": alert.stream,
        "source": alert.source,
        "state": alert.state.value,
        "event_time": alert.event_time.isoformat(),
        "created_at": alert.created_at.isoformat(),
        "revisions": [
            {
                "revision": r.revision,
                "ra_deg": r.ra_deg,
                "dec_deg": r.dec_deg,
                "err50_deg": r.err50_deg,
                "err90_deg": r.err90_deg,
                "errors_derived": r.errors_derived,
                "signalness": r.signalness,
                "far_per_year": r.far_per_year,
                "energy_tev": r.energy_tev,
                "message_version": r.message_version,
                "status": revision_status(alert, rows, r.revision),
                **({"details": r.details} if detail else {}),
            }
            for r in alert.revisions
        ],
        "published_revision": published_revision(alert, rows),
        "outbox": dict(Counter(row.state.value for row in rows)),
    }
    if detail:
        view["outbox_rows"] = [outbox_view(row) for row in rows]
        from skymist.store.scan_models import Scan

        scans = session.execute(select(Scan).where(Scan.alert_id == alert.id).order_by(Scan.id)).scalars()
        view["scans"] = [scan_view(scan, alert.name) for scan in scans]
    return view


def outbox_view(row: OutboxRow) -> JSONObject:
    return {
        "id": row.id,
        "alert_id": row.alert_id,
        "product": row.product,
        "sink": row.sink,
        "destination": row.destination,
        "state": row.state.value,
        "attempts": row.attempts,
        "idempotency_key": row.idempotency_key,
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "delivery_ref": row.delivery_ref,
        "last_error": row.last_error,
        "bytes": len(row.payload),
    }


def dead_letter_view(letter: DeadLetter, *, raw_preview: int = 0) -> JSONObject:
    view: JSONObject = {
        "id": letter.id,
        "source": letter.source,
        "state": letter.state.value,
        "reason": letter.reason,
        "field": letter.field,
        "attempts": letter.attempts,
        "bytes": len(letter.raw),
        "created_at": letter.created_at.isoformat(),
    }
    if raw_preview:
        view["raw_preview"] = letter.raw[:raw_preview].decode("utf-8", errors="replace")
    return view


def scan_view(scan: Scan, alert_name: str | None = None) -> JSONObject:
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": scan.id,
        "alert_id": scan.alert_id,
        "alert": alert_name,
        "revision": scan.revision,
        "plan_entry": scan.plan_entry,
        "reco_algo": scan.plan.get("reco_algo"),
        "priority": scan.priority,
        "state": scan.state.value,
        "backend_scan_id": scan.backend_scan_id,
        "backend_state": scan.backend_state,
        "progress_percent": scan.progress_percent,
        "pixels_done": scan.pixels_done,
        "pixels_total": scan.pixels_total,
        "predicted_end": iso(scan.predicted_end),
        "rescans": scan.rescans,
        "backend_failures_in_a_row": scan.attempts,
        "last_error": scan.last_error,
        "requested_by": scan.requested_by,
        "created_at": iso(scan.created_at),
        "submitted_at": iso(scan.submitted_at),
        "last_progress_at": iso(scan.last_progress_at),
        "finished_at": iso(scan.finished_at),
        "deadline_at": iso(scan.deadline_at),
        "next_check_at": iso(scan.next_check_at),
        "partial_result_bytes": len(scan.partial_result) if scan.partial_result is not None else None,
        "result_bytes": len(scan.result) if scan.result is not None else None,
    }
