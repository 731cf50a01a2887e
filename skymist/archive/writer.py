"""Write an alert's record: compute every file from the store, write the ones that changed.

Each file is written atomically (temporary file, fsync, rename): payload first, then the metadata,
the index, the RO-Crate metadata, and the BagIt manifests last, so a reader never sees a torn file
and a record interrupted half-way is completed by the next write. Writers of one alert (several
daemons' after-sent hooks, the sweep, the CLI) are serialized by a PostgreSQL advisory lock keyed by
the alert's id, held to the end of the writer's transaction (and in one process by a lock per
alert); each writer reads the store after taking the lock, so a later writer never has an older
view. An advisory lock, not a lock on the alert's row: a slow disk then holds up only other writers
of the same record, never a transaction that changes the alert (a new revision, a retraction).

Paths: the record folder is ``archive_root/<label>`` and every file in it ``<folder>/<path in the
bag>``, each through :func:`skymist.files.path_inside` (a label or path that would leave its root is
an :class:`ArchiveError`, nothing is written). Clean-up: files no longer part of the record are
removed only when the writer wrote them itself: :data:`OWN_FILES` in the record folder lists every
file the writer wrote (path -> sha256), saved before any file is written (so a write cut short still
knows its files) and again, with the record's files only, at the end; a file that is not listed, or
whose bytes are no longer those the writer wrote, is left alone and reported (``kept``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from skymist.archive.bag import tag_files
from skymist.archive.datacite_meta import alert_doi
from skymist.archive.errors import ArchiveError
from skymist.archive.record import record_files
from skymist.archive.snapshot import take_snapshot
from skymist.config import Settings
from skymist.files import PathOutsideRootError, path_inside, write_atomic
from skymist.store.models import Alert

log = logging.getLogger(__name__)


@dataclass
class WriteOutcome:
    alert: str
    folder: Path
    written: list[str] = field(default_factory=list)  # paths in the bag whose bytes changed
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    #: files in the folder that are not part of the record and that the writer did not write (or
    #: whose bytes changed since): left alone
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


#: the writer's list of the files it wrote in a record folder (a dot file: not part of the bag)
OWN_FILES = ".skymist-own-files.json"
#: the record's index (``stale_alerts`` reads it): written after every other file of the record
INDEX_FILE = "data/record.json"
#: a temporary of ``write_atomic`` (``.<name>.<random>.tmp``), left behind only by a killed writer
_TEMPORARY = re.compile(r"\.(.+)\.[A-Za-z0-9_]+\.tmp")


def record_folder(settings: Settings, label: str) -> Path:
    """``archive_root/<label>``; :class:`ArchiveError` when the label would leave the archive root."""
    try:
        return path_inside(settings.archive_root, label)
    except PathOutsideRootError as exc:
        raise ArchiveError(f"alert {label[:80]!r}: no record folder: {exc}") from None


def _inside(folder: Path, rel: str, label: str) -> Path:
    try:
        return path_inside(folder, rel)
    except PathOutsideRootError as exc:
        raise ArchiveError(f"alert {label[:80]!r}: record file refused: {exc}") from None


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


def own_files(folder: Path) -> dict[str, str]:
    """The files the writer wrote in ``folder`` (path in the folder -> sha256); empty when none are
    listed (a new folder, or one the writer never wrote)."""
    try:
        document = json.loads(path_inside(folder, OWN_FILES).read_bytes())
    except (FileNotFoundError, NotADirectoryError, PathOutsideRootError, ValueError):
        return {}
    listed = document.get("files") if isinstance(document, dict) else None
    if not isinstance(listed, dict):
        return {}
    return {rel: sha for rel, sha in listed.items() if isinstance(rel, str) and isinstance(sha, str)}


def _save_own_files(folder: Path, files: dict[str, str]) -> None:
    document = {"written_by": "skymist archive writer", "files": dict(sorted(files.items()))}
    write_atomic(path_inside(folder, OWN_FILES), (json.dumps(document, indent=1) + "\n").encode())


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _remove_own(folder: Path, rel: str, own: dict[str, str]) -> bool:
    """Remove ``rel`` when the writer wrote it and it still holds the bytes written; else False."""
    try:
        path = path_inside(folder, rel)
    except PathOutsideRootError:
        return False  # a symlink out of the folder: never followed, never removed
    if path.is_symlink() or rel not in own or _sha256_of(path) != own[rel]:
        return False
    path.unlink(missing_ok=True)
    return True


def _temporary_of(rel: str) -> str | None:
    """The file whose temporary ``rel`` is (``write_atomic``'s ``.<name>.<random>.tmp``), or None."""
    parent, _, name = rel.rpartition("/")
    match = _TEMPORARY.fullmatch(name)
    if match is None:
        return None
    return f"{parent}/{match.group(1)}" if parent else match.group(1)


def _remove_dead_temporaries(folder: Path, own: dict[str, str], outcome: WriteOutcome) -> None:
    """Remove the temporaries a writer killed mid-write left beside files of this record (the caller
    holds the record's lock, so no live writer has one open): a bag must hold no stray file."""
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            rel = str((Path(dirpath) / name).relative_to(folder))
            target = _temporary_of(rel)
            if target is not None and target in own:
                path_inside(folder, rel).unlink(missing_ok=True)
                outcome.removed.append(rel)


def write_files(folder: Path, files: list[tuple[str, bytes]], label: str) -> WriteOutcome:
    outcome = WriteOutcome(label, folder)
    targets = [(rel, _inside(folder, rel, label), data) for rel, data in files]  # all checked first
    # the index last: it is what the sweep reads to judge a record current (stale_alerts), so a write
    # cut short anywhere before it (kill -9) leaves the record stale and the sweep writes it again
    targets.sort(key=lambda target: target[0] == INDEX_FILE)
    planned = {rel: hashlib.sha256(data).hexdigest() for rel, data in files}
    own = {**own_files(folder), **planned}
    _save_own_files(folder, own)  # before any file: a write cut short still knows what it wrote
    _remove_dead_temporaries(folder, own, outcome)
    for rel, target, data in targets:
        if _same(target, data):
            outcome.unchanged += 1
            continue
        write_atomic(target, data)
        outcome.written.append(rel)
    for rel in sorted(_existing(folder) - set(planned)):
        (outcome.removed if _remove_own(folder, rel, own) else outcome.kept).append(rel)
    _save_own_files(folder, planned)
    return outcome


def remove_record(folder: Path) -> list[str]:
    """Remove the files the writer wrote in ``folder`` (``archive rebuild --fresh``), then its list
    and the folders left empty; every other file stays. Returns the files left in place."""
    if not folder.is_dir():
        return []
    own = own_files(folder)
    left = [rel for rel in sorted(_existing(folder)) if not _remove_own(folder, rel, own)]
    path_inside(folder, OWN_FILES).unlink(missing_ok=True)
    for dirpath, _dirs, _names in sorted(os.walk(folder), key=lambda entry: -len(entry[0])):
        if Path(dirpath) != folder and not any(Path(dirpath).iterdir()):
            Path(dirpath).rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()
    return left


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
    if outcome.kept:
        log.warning(
            "archive record folder holds files the writer did not write: left alone",
            extra={"alert": label, "folder": str(outcome.folder), "files": outcome.kept[:20]},
        )
    return outcome


def all_alert_ids(session: Session) -> list[int]:
    return list(session.execute(select(Alert.id).order_by(Alert.id)).scalars())
