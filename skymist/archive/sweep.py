"""The ``archive`` job's sweep: complete the records that fell behind the store (a daemon killed
between a send's commit and its record write) and regenerate the HTML catalogue when alerts changed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from skymist.archive.hooks import stale_alerts, write_quietly
from skymist.archive.trouble import ArchiveTrouble
from skymist.config import Settings
from skymist.states import OutboxState
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import Localization

log = logging.getLogger(__name__)


class ArchiveSweep:
    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], trouble: ArchiveTrouble | None = None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.trouble = trouble or ArchiveTrouble()
        self._site_mark: tuple[Any, ...] | None = None
        self._site_at = 0.0

    def _mark(self, session: Session) -> tuple[Any, ...]:
        counted = select(func.count(OutboxRow.id), func.max(OutboxRow.id))
        sent = session.execute(counted.where(OutboxRow.state == OutboxState.SENT)).one()
        alerts = session.execute(select(func.count(Alert.id), func.max(Alert.updated_at))).one()
        locs = session.execute(select(func.max(Localization.id))).scalar_one()
        return (*sent, *alerts, locs)

    def sweep(self, stop: threading.Event | None = None) -> int:
        """Write the stale records; regenerate the site when something changed (at most once per
        ``archive_site_interval_s``). Returns how many records were looked at. ``stop`` set (the
        daemon stopping) ends it after the record or page in hand; the next sweep goes on."""
        with self.sessions() as session:
            stale = stale_alerts(self.settings, session)
            mark = self._mark(session)
        if stale:
            log.info("archive records behind the store", extra={"alerts": len(stale)})
            write_quietly(self.settings, self.sessions, stale, self.trouble, stop=stop)
        due = time.monotonic() - self._site_at >= self.settings.archive_site_interval_s
        stopping = stop is not None and stop.is_set()
        if self.settings.archive_site_interval_s > 0 and mark != self._site_mark and due and not stopping:
            from skymist.archive.site import write_site

            if write_site(self.settings, self.sessions, stop=stop).complete:
                self._site_mark, self._site_at = mark, time.monotonic()
        return len(stale)
