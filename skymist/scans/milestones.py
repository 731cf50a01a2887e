"""Slack messages for scan milestones: one outbox row each, keyed so none is ever queued twice."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy.orm import Session

from skymist.config import Settings
from skymist.outbox import keys
from skymist.outbox.queue import enqueue, slack_spec
from skymist.rendering import Renderer

Milestone = Literal["started", "first_partial", "half", "final", "failed", "backend_down", "skymap_failed"]


def queue_milestone(
    session: Session,
    settings: Settings,
    renderer: Renderer,
    *,
    scan_id: int,
    alert_id: int,
    subject: str,
    plan_entry: str,
    milestone: Milestone,
    key_suffix: str = "",
    backend_scan_id: str | None,
    priority: int,
    percent_done: float | None = None,
    pixels_done: int | None = None,
    pixels_total: int | None = None,
    predicted_end: dt.datetime | None = None,
    detail: str | None = None,
) -> None:
    if settings.slack_mode == "off":
        return
    spec = slack_spec(
        settings,
        renderer,
        product=f"slack_scan_{milestone}",
        idempotency_key=keys.scan_milestone(scan_id, milestone, key_suffix),
        template="slack/scan.json.j2",
        variables={
            "subject": subject,
            "plan_entry": plan_entry,
            "milestone": milestone,
            "backend_scan_id": backend_scan_id,
            "priority": priority,
            "percent_done": percent_done,
            "pixels_done": pixels_done,
            "pixels_total": pixels_total,
            "predicted_end_iso": predicted_end.strftime("%Y-%m-%d %H:%M:%S") if predicted_end else None,
            "detail": detail,
        },
        alert_id=alert_id,
    )
    enqueue(session, spec)
