"""Archive writes that fail (a full or read-only disk, a lost mount): seen, counted and told, never
raised into a send.

Each failure is one JSON log line naming the alert and the error (a traceback only for what is not
an operating-system error, i.e. a bug), the counter ``archive_write_failed`` goes up, and the
shifters are told once per ``shifters_repeat_s`` (a paced Slack message through the outbox, so two
daemons seeing the same full disk tell it once). The record is completed later: at the alert's next
send, by the ``archive`` job's sweep or ``skymist archive backfill``, since records are computed from
the store. The first write that succeeds after failures is logged and counted
(``archive_write_recovered``).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from skymist.app import App
from skymist.outbox import keys
from skymist.outbox.queue import enqueue, slack_spec
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow

log = logging.getLogger(__name__)

KIND = keys.ARCHIVE_UNWRITABLE


class ArchiveTrouble:
    """Tells of failed record writes for one process (thread-safe)."""

    def __init__(self, app: App | None = None) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.failing = 0  # failures since the last write that succeeded

    def failed(self, alert_id: int, exc: BaseException) -> None:
        with self._lock:
            self.failing += 1
            failing = self.failing
        extra = {"alert_id": alert_id, "error": f"{type(exc).__name__}: {exc}"[:300], "failing": failing}
        if isinstance(exc, OSError):
            log.error("archive record not written", extra=extra)
        else:
            log.exception("archive record not written", extra=extra)
        if self.app is None:
            return
        self.app.metrics.inc("archive_write_failed")
        self._tell(f"{type(exc).__name__}: {exc}"[:300])

    def written(self) -> None:
        with self._lock:
            failing, self.failing = self.failing, 0
        if failing:
            log.warning("archive records written again", extra={"after_failures": failing})
            if self.app is not None:
                self.app.metrics.inc("archive_write_recovered")

    def _tell(self, error: str) -> None:
        app = self.app
        if app is None or app.settings.slack_mode == "off":
            return
        slot = int(utcnow().timestamp() // max(app.settings.shifters_repeat_s, 1.0))
        key = keys.shifters_warning(KIND, slot)
        try:
            with app.sessions() as session, session.begin():
                if session.execute(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)).first():
                    return
                enqueue(
                    session,
                    slack_spec(
                        app.settings,
                        app.renderer,
                        product="slack_ops",
                        idempotency_key=key,
                        template="slack/ops.json.j2",
                        variables={
                            "title": "archive records not written",
                            "detail": f"Writing archive records under {app.settings.archive_root} fails: "
                            f"{error}. Notices and Slack messages are not held up.",
                            "hint": "Free space or fix the mount; the records are completed by the archive "
                            "job's sweep, then check `skymist archive verify`.",
                        },
                    ),
                )
                app.metrics.inc("shifters_told")
        except Exception:
            log.warning("cannot queue the shifters' message", extra={"kind": KIND}, exc_info=True)
