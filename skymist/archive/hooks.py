"""Where records get written: the outbox's after-sent hook and the scan hand-off.

The after-sent hook runs inside the transaction that marks rows sent; it only notes the alerts and
asks to be called once that transaction has committed, so a record never shows a send the store
does not have. Then it hands the alerts to the :class:`RecordWriter`, a thread of its own (a full
record write reads the scan result and skymaps back from the store: tens of milliseconds, which the
dispatcher must not wait for); it waits ``archive_write_settle_s`` after a send so that the other
sends of the same alert (notice, VOEvent, Slack, a few milliseconds apart) are written with it,
once, and it runs at the lowest CPU priority (Linux: nice 19 for its thread alone), so that on a
busy machine the sends come first. A daemon killed before the write leaves a record behind the
store: the next write of that alert, ``skymist archive backfill`` or the ``archive`` job's sweep
(:func:`stale_alerts`) completes it; records are computed from the store, so nothing is doubled. A
daemon stopped with SIGTERM writes the records of its last sends for up to a few seconds, then stops
the writer after the record in hand (:func:`stop_records`): a backlog is left to the sweep too, so
the stop never waits for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from skymist.app import App
from skymist.archive.doi import queue_registrations, veto_superseded
from skymist.archive.errors import ArchiveError
from skymist.archive.trouble import ArchiveTrouble
from skymist.archive.writer import record_folder, write_record
from skymist.config import Settings
from skymist.outbox.hooks import OutboxHooks
from skymist.states import OutboxState
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import AuditEntry, Localization

log = logging.getLogger(__name__)

_PENDING = "skymist.archive.pending"
#: the record writer thread's niceness (19: the lowest priority)
WRITER_NICENESS = 19


def write_quietly(
    settings: Settings,
    sessions: sessionmaker[Session],
    alert_ids: Sequence[int],
    trouble: ArchiveTrouble | None = None,
    stop: threading.Event | None = None,
) -> list[int]:
    """Write the records; a failure is logged, counted and told (``trouble``; the sweep tries again),
    never raised into a send. ``stop`` set ends it before the next record; returns the alerts it
    left unwritten then."""
    trouble = trouble or ArchiveTrouble()
    todo = sorted(set(alert_ids))
    for k, alert_id in enumerate(todo):
        if stop is not None and stop.is_set():
            return todo[k:]
        try:
            write_record(settings, sessions, alert_id)
        except Exception as exc:
            trouble.failed(alert_id, exc)
        else:
            trouble.written()
    return []


class RecordWriter:
    """Writes the records of the alerts handed to it, in its own thread, coalescing repeats."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], trouble: ArchiveTrouble | None = None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.trouble = trouble or ArchiveTrouble()
        self._pending: set[int] = set()
        self._busy = False
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        #: set by :meth:`stop`: the record in hand is finished, the others are left to the sweep
        self._stopped = threading.Event()

    def submit(self, alert_ids: Sequence[int]) -> None:
        with self._cv:
            if self._stopped.is_set():
                return  # the daemon is stopping: the sweep writes these at its next run
            self._pending.update(alert_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def _run(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # Linux: the niceness of this thread only
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICENESS)
        settle_s = max(0.0, self.settings.archive_write_settle_s)
        while True:
            with self._cv:
                while not self._pending or self._stopped.is_set():  # stopped: no more work taken
                    self._cv.wait()
                self._busy = True
                settled = time.monotonic() + settle_s  # gather the other sends of these alerts
                while (left := settled - time.monotonic()) > 0 and not self._stopped.is_set():
                    self._cv.wait(timeout=left)
                todo = sorted(self._pending)
                self._pending.clear()
                self._busy = True
            unwritten: list[int] = todo
            try:
                unwritten = write_quietly(
                    self.settings, self.sessions, todo, self.trouble, stop=self._stopped
                )
            finally:
                with self._cv:
                    self._pending.update(unwritten)  # only when stopped: counted by stop()
                    self._busy = False
                    self._cv.notify_all()

    def flush(self, timeout_s: float = 120.0) -> bool:
        """Wait until every alert handed over is written; False if that took longer than ``timeout_s``
        (or the writer was stopped with records left)."""
        with self._cv:
            idle = self._cv.wait_for(
                lambda: not self._busy and (not self._pending or self._stopped.is_set()), timeout=timeout_s
            )
            return idle and not self._pending

    def stop(self, flush_s: float, timeout_s: float) -> int:
        """Write what was handed over for up to ``flush_s``, then stop after the record in hand (at
        most ``timeout_s`` more); returns how many alerts' records are left behind the store, for the
        ``archive`` job's sweep (:func:`stale_alerts`) to write at its next run."""
        self.flush(flush_s)
        with self._cv:
            self._stopped.set()
            self._cv.notify_all()
            self._cv.wait_for(lambda: not self._busy, timeout=timeout_s)
            left = len(self._pending)
            self._pending.clear()
        return left


class AfterSent:
    """The after-sent hook (a callable) and its writer."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], trouble: ArchiveTrouble | None = None
    ) -> None:
        self.settings = settings
        self.writer = RecordWriter(settings, sessions, trouble)
        self.note = _note_hook(settings, self.writer)

    def __call__(self, session: Session, rows: Sequence[OutboxRow], now: dt.datetime) -> None:
        self.note(session, rows, now)


def write_records_of(hooks: OutboxHooks, alert_ids: Sequence[int]) -> None:
    """Hand alerts just recorded (a message ingested or replayed: a new alert or a new revision) to
    the record writer, so that every recorded alert has its record whether or not anything of it is
    ever sent (``archive_enabled``; written in the writer's thread, like the records after sends)."""
    ids = sorted(set(alert_ids))
    if not ids:
        return
    for hook in hooks.after_sent:
        if isinstance(hook, AfterSent) and hook.settings.archive_enabled:
            hook.writer.submit(ids)


def flush_records(hooks: OutboxHooks, timeout_s: float = 120.0) -> bool:
    """Wait for the record writes the sends so far asked for (before a command exits)."""
    done = True
    for hook in hooks.after_sent:
        if isinstance(hook, AfterSent):
            done = hook.writer.flush(timeout_s) and done
    return done


def stop_records(hooks: OutboxHooks, flush_s: float, timeout_s: float) -> int:
    """The daemon stopping: the records of the last sends are written for up to ``flush_s``, then the
    writer stops after the record in hand; a backlog (a busy machine, many alerts at once) is left to
    the ``archive`` job's sweep at the next start instead of holding up the stop. Returns how many
    alerts' records were left."""
    left = 0
    for hook in hooks.after_sent:
        if isinstance(hook, AfterSent):
            left += hook.writer.stop(flush_s, timeout_s)
    if left:
        log.warning("archive records left for the sweep", extra={"alerts": left})
    return left


def _note_hook(
    settings: Settings, writer: RecordWriter
) -> Callable[[Session, Sequence[OutboxRow], dt.datetime], None]:
    def note(session: Session, rows: Sequence[OutboxRow], _now: dt.datetime) -> None:
        ids = {row.alert_id for row in rows if row.alert_id is not None}
        if not ids:
            return
        if settings.datacite_enabled:
            queue_registrations(settings, session, sorted(ids))
        if not settings.archive_enabled:
            return
        pending: set[int] | None = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = set()

            def committed(sess: Session) -> None:
                writer.submit(sorted(sess.info.pop(_PENDING, set())))

            # after a rollback the noted alerts stay pending: written at the session's next commit
            event.listen(session, "after_commit", committed, once=True)
        pending.update(ids)

    return note


def register(hooks: OutboxHooks, app: App) -> None:
    """Add the archive's hooks: records after sends (``archive_enabled``), DOI registrations queued after
    sends and stale ones vetoed (``datacite_enabled``); failed record writes told through ``app``."""
    settings = app.settings
    if settings.datacite_enabled:
        hooks.before_send.append(veto_superseded)
    if settings.archive_enabled or settings.datacite_enabled:
        hooks.after_sent.append(AfterSent(settings, app.sessions, ArchiveTrouble(app)))


def stale_alerts(settings: Settings, session: Session) -> list[int]:
    """Alerts whose record is missing or behind the store: a sent product, a localization, an audit
    entry or the alert's state that the record does not have yet."""
    sent: dict[int, set[int]] = {}
    for alert_id, row_id in session.execute(
        select(OutboxRow.alert_id, OutboxRow.id).where(
            OutboxRow.state == OutboxState.SENT, OutboxRow.alert_id.is_not(None)
        )
    ).all():
        if alert_id is not None:
            sent.setdefault(alert_id, set()).add(row_id)
    locs = dict(
        session.execute(select(Localization.alert_id, func.count()).group_by(Localization.alert_id)).all()
    )
    audits = dict(
        session.execute(
            select(AuditEntry.alert_id, func.count())
            .where(AuditEntry.alert_id.is_not(None))
            .group_by(AuditEntry.alert_id)
        ).all()
    )
    stale = []
    for alert_id, name, run_id, event_id, state in session.execute(
        select(Alert.id, Alert.name, Alert.run_id, Alert.event_id, Alert.state).order_by(Alert.id)
    ).all():
        try:
            index_path = record_folder(settings, name or f"{run_id}_{event_id}") / "data" / "record.json"
            index = json.loads(index_path.read_bytes())
            have = {entry["outbox_id"] for entry in index["sent"]}
            behind = (
                index["alert"]["state"] != state.value
                or not sent.get(alert_id, set()) <= have
                or len(index["localizations"]) != locs.get(alert_id, 0)
                or len(json.loads((index_path.parent / "audit.json").read_bytes())) != audits.get(alert_id, 0)
            )
        except (OSError, ValueError, KeyError, TypeError, ArchiveError):
            behind = True  # (a name that cannot be a folder: the writer reports it)
        if behind:
            stale.append(alert_id)
    return stale
