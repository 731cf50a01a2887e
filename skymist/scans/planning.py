"""Scan rows for an alert revision, one per plan entry (created in the caller's transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from scanner_client import new_request_key
from skymist.config import Settings
from skymist.reco_plans import ScanPlanEntry, plans_for
from skymist.states import ScanState
from skymist.store.scan_models import Scan
from skymist.store.upsert import dialect_insert

SCANS = cast(Table, Scan.__table__)


class PlanError(ValueError):
    """No such plan entry or alert class (the message names it)."""


def plan_entries(
    settings: Settings, alert_class: str, entry_names: Sequence[str] | None = None
) -> list[ScanPlanEntry]:
    plans = plans_for(settings.scanner_backend, settings.scan_plans)
    if alert_class not in plans:
        raise PlanError(f"no reco plan for alert class {alert_class!r} (plans: {', '.join(sorted(plans))})")
    entries = plans[alert_class]
    if entry_names:
        known = {entry.name: entry for plan in plans.values() for entry in plan}
        missing = [name for name in entry_names if name not in known]
        if missing:
            raise PlanError(f"unknown plan entry {missing[0]!r} (known: {', '.join(sorted(known))})")
        entries = [known[name] for name in entry_names]
    return list(entries)


def plan_scans(
    session: Session,
    entries: Sequence[ScanPlanEntry],
    *,
    alert_id: int,
    revision: int,
    now: dt.datetime,
    requested_by: str = "plan",
) -> int:
    """Insert one scan row per entry (skipping entries this revision already has); returns how many."""
    if not entries:
        return 0
    rows = [
        {
            "alert_id": alert_id,
            "revision": revision,
            "plan_entry": entry.name,
            "plan": entry.model_dump(mode="json"),
            "priority": entry.priority,
            "state": ScanState.PLANNED,
            "request_key": new_request_key(),
            "attempts": 0,
            "rescans": 0,
            "backend_down_told": False,
            "outages": 0,
            "handoff_attempts": 0,
            "next_check_at": now,
            "deadline_at": now + dt.timedelta(seconds=entry.deadline_s),
            "requested_by": requested_by,
            "created_at": now,
            "updated_at": now,
        }
        for entry in entries
    ]
    stmt = (
        dialect_insert(session, SCANS)
        .on_conflict_do_nothing(index_elements=["alert_id", "revision", "plan_entry"])
        .returning(SCANS.c.id)
    )
    return len(session.execute(stmt, rows).all())
