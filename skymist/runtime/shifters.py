"""Telling the shifters about the daemon's own health, through the outbox (Slack) and paced.

Each warning has a kind (``broker-unreachable``, ``store-unreachable``, ``heartbeat-missing``...); the
idempotency key holds the pacing slot (time // ``shifters_repeat_s``), so a lasting fault is told once
per period however often it is seen, and two daemons seeing the same fault tell it once.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.outbox import keys
from skymist.outbox.queue import enqueue, slack_spec
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow

log = logging.getLogger(__name__)

OPS_TEMPLATE = "slack/ops.json.j2"


def tell_in(session: Session, app: App, *, key: str, title: str, detail: str, hint: str) -> bool:
    """Queue one Slack message (in the caller's transaction); False if Slack is off or the message
    (its key) is already queued: told already in this pacing period."""
    if app.settings.slack_mode == "off":
        return False
    if session.execute(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)).first() is not None:
        return False
    enqueue(
        session,
        slack_spec(
            app.settings,
            app.renderer,
            product="slack_ops",
            idempotency_key=key,
            template=OPS_TEMPLATE,
            variables={"title": title, "detail": detail, "hint": hint},
        ),
    )
    app.metrics.inc("shifters_told")
    return True


def tell_paced(
    app: App, kind: str, *, title: str, detail: str, hint: str, now: dt.datetime | None = None
) -> bool:
    """Tell ``kind`` once per ``shifters_repeat_s`` (own transaction); False if the store is away."""
    at = now or utcnow()
    slot = int(at.timestamp() // max(app.settings.shifters_repeat_s, 1.0))
    try:
        with app.sessions() as session, session.begin():
            return tell_in(
                session, app, key=keys.shifters_warning(kind, slot), title=title, detail=detail, hint=hint
            )
    except Exception:
        log.warning("cannot queue the shifters' message", extra={"kind": kind}, exc_info=True)
        return False


class OutageWatch:
    """Remembers since when a dependency (``store``, ``broker``) has been unreachable and tells the
    shifters once it has been so for ``shifters_unreachable_after_s`` (and once more when it is back)."""

    def __init__(self, app: App, what: str) -> None:
        self.app = app
        self.what = what
        self.down_since: dt.datetime | None = None
        self.told = False

    def seen(self, ok: bool, reason: str = "", now: dt.datetime | None = None) -> None:
        at = now or utcnow()
        if ok:
            outage = (at - self.down_since).total_seconds() if self.down_since is not None else 0.0
            if outage > self.app.settings.shifters_unreachable_after_s:  # told now if not before
                tell_paced(
                    self.app,
                    f"{self.what}-back",
                    title=f"{self.what} reachable again",
                    detail=f"The {self.what} is reachable again after {outage:.0f} s unreachable.",
                    hint="Check `skymist check` and `skymist outbox list --state dead`.",
                    now=at,
                )
            if self.down_since is not None:
                log.info(f"{self.what} reachable again", extra={"after_s": round(outage)})
            self.down_since, self.told = None, False
            return
        if self.down_since is None:
            self.down_since = at
            log.warning(f"{self.what} unreachable", extra={"reason": reason})
        down_s = (at - self.down_since).total_seconds()
        if down_s > self.app.settings.shifters_unreachable_after_s:
            log.error(f"{self.what} unreachable", extra={"for_s": round(down_s), "reason": reason})
            self.told = (
                tell_paced(
                    self.app,
                    f"{self.what}-unreachable",
                    title=f"{self.what} unreachable",
                    detail=f"The {self.what} has been unreachable for {down_s:.0f} s: {reason}",
                    hint="Nothing is lost (inputs wait in Kafka, products in the outbox): docs/runbook.md.",
                    now=at,
                )
                or self.told
            )
