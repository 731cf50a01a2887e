"""Write an alert's record: compute every file from the store, write the ones that changed.

Each file is written atomically (temporary file, fsync, rename): payload first, then the metadata,
the index, the RO-Crate metadata, and the BagIt manifests last, so a reader never sees a torn file
and a record interrupted half-way is completed by the next write. Writers of one alert (several
daemons' after-sent hooks, the sweep, the CLI) are serialized by a PostgreSQL advisory lock keyed by
the alert's id, held to the end of the writer's transaction (and in one process by a lock per
alert); each writer reads the store after taking the lock, so a later writer never has an older
view. An advisory lock, not a lock on the alert's row: a slow disk then holds up only other writers
of the same record, never a transaction that changes the alert (a new revision, a retraction).
Files no longer part of the record are removed.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from skymist.archive.bag import tag_files
from skymist.archive.datacite_meta import alert_doi
from skymist.archive.record import record_files
from skymist.archive.snapshot import take_snapshot
from skymist.config import Settings
from skymist.files import write_atomic
from skymist.store.models import Alert

log = logging.getLogger(__name__)


@dataclass
class WriteOutcome:
    alert: str
    folder: Path
    written: list[str] = field(default_factory=list)  # paths in the bag whose bytes changed
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def record_folder(settings: Settings, label: str) -> Path:
    return settings.archive_root / label


def planned_files(settings: Settings, session: Session, alert_id: int) -> tuple[str, list[tuple[str, bytes]]]:
    """(the alert's label, every (path in the bag, bytes)) in the order they are written."""
    snap = take_snapshot(session, alert_id)
    payload = record_files(settings, snap)
    identifier = alert_doi(settings, snap) if snap.public else None
    files = [(f"data/{f.path}", f.data) for f in payload]
    files += tag_files(snap, payload, identifier, settings.archive_publisher)
    return snap.label, files


def _same(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def _existing(folder: Path) -> set[str]:
    found = set()
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if name.startswith("."):
                continue  # another writer's temporary file
            found.add(str((Path(dirpath) / name).relative_to(folder)))
    return found


def write_files(folder: Path, files: list[tuple[str, bytes]], label: str) -> WriteOutcome:
    outcome = WriteOutcome(label, folder)
    for rel, data in files:
        target = folder / rel
        if _same(target, data):
            outcome.unchanged += 1
            continue
        write_atomic(target, data)
        outcome.written.append(rel)
    wanted = {rel for rel, _ in files}
    for rel in sorted(_existing(folder) - wanted):
        (folder / rel).unlink(missing_ok=True)
        outcome.removed.append(rel)
    return outcome


_GUARD = threading.Lock()
_FOLDER_LOCKS: dict[int, threading.Lock] = {}


def _folder_lock(alert_id: int) -> threading.Lock:
    """One lock per alert in this process (the row lock serializes processes on PostgreSQL; SQLite,
    the demo's store, has no row locks)."""
    with _GUARD:
        return _FOLDER_LOCKS.setdefault(alert_id, threading.Lock())


#: the advisory locks of record writes: this number * 2^32 + the alert's id ("SkyA")
ADVISORY_LOCK_SPACE = 0x536B7941


def lock_record(session: Session, alert_id: int) -> None:
    """Wait for, then hold until the transaction ends, the right to write ``alert_id``'s record."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"),
            {"key": (ADVISORY_LOCK_SPACE << 32) + (alert_id & 0xFFFFFFFF)},
        )


def write_record(settings: Settings, sessions: sessionmaker[Session], alert_id: int) -> WriteOutcome:
    """Bring alert ``alert_id``'s record up to date with the store (idempotent)."""
    with _folder_lock(alert_id), sessions() as session, session.begin():
        lock_record(session, alert_id)
        session.execute(select(Alert.id).where(Alert.id == alert_id)).scalar_one()
        label, files = planned_files(settings, session, alert_id)
        outcome = write_files(record_folder(settings, label), files, label)
    if outcome.changed:
        log.info(
            "archive record written",
            extra={"alert": label, "written": len(outcome.written), "removed": len(outcome.removed)},
        )
    return outcome


def all_alert_ids(session: Session) -> list[int]:
    return list(session.execute(select(Alert.id).order_by(Alert.id)).scalars())
