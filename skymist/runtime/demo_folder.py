"""The demo's work folder: made by the demo, marked as such, and the only kind it ever deletes.

``skymist demo --dir X`` writes a marker file (:data:`MARKER`) into X as the first thing it does. A
later run deletes and recreates X only when that marker is there (or X is empty, or missing); any
other non-empty X is refused unless ``--force`` says to delete it. Even with ``--force`` the demo
never deletes the file system's root, the home folder, the current folder or a folder above it.

:data:`LEGEND` explains every file the demo writes; it is printed at the end of a run and written to
``README.txt`` in the folder.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

#: the file that says "skymist demo made this folder"
MARKER = ".skymist-demo"

#: what the demo writes into its folder, one ``(pattern, meaning)`` per kind of file
LEGEND: tuple[tuple[str, str], ...] = (
    (MARKER, "says skymist demo made this folder: the next demo run here may delete and recreate it"),
    ("README.txt", "this legend"),
    ("skymist-demo.sqlite", "SkyMist's store (alerts, revisions, outbox, scans, Circulars): "
     "skymist --database-url sqlite:///<this file> alerts list"),
    ("skyscan.sqlite", "the store of the demo's skyscan service (the scans it ran)"),
    ("products/RUNID_EVENTID.revN.notice.json", "the GCN notice (JSON) of revision N of event "
     "RUNID_EVENTID, as read back from the notice topic (rev0: prompt, rev1: refined)"),
    ("products/RUNID_EVENTID.revN.voevent.xml", "the same revision's VOEvent 2.0, as read back from "
     "the VOEvent topic"),
    ("products/RUNID_EVENTID.revN.P-O.*", "a further copy of the same revision read back (topic "
     "partition P, offset O): the broker held it twice"),
    ("skymaps/NAME/", "the skymap of alert NAME: picture (PNG, PDF), flat HEALPix FITS and "
     "multi-order FITS"),
    ("archive/", "the FAIR archive: a BagIt bag with an RO-Crate per event (written as products are "
     "sent), the catalogue (CSV, FITS, VOTable, Parquet) and its HTML pages (index.html)"),
)  # fmt: skip


class DemoFolderError(Exception):
    """The demo may not use (and delete) this folder; the message says why and what to do."""


def _protected(folder: Path) -> str | None:
    """Why ``folder`` may never be deleted, even with ``--force`` (None: it may)."""
    cwd = Path.cwd().resolve()
    if folder == Path(folder.anchor):
        return "it is the root of the file system"
    if folder == Path.home().resolve():
        return "it is your home folder"
    if folder == cwd or folder in cwd.parents:
        return "it is the current folder or holds it"
    return None


def prepare_demo_folder(folder: Path, *, force: bool = False) -> Path:
    """Make ``folder`` a fresh, empty, marked demo folder; returns its resolved path.

    Deletes the folder first only when an earlier demo made it (its marker is there) or ``force``;
    an empty folder is used as it is. Raises :class:`DemoFolderError` for anything else."""
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise DemoFolderError(f"--dir {folder}: is a file, not a folder; give a folder the demo may create")
    if folder.is_dir() and any(folder.iterdir()):
        made_by_demo = (folder / MARKER).is_file()
        if not made_by_demo and not force:
            raise DemoFolderError(
                f"--dir {folder}: the folder is not empty and was not made by skymist demo (no {MARKER} "
                "in it); give a new or empty folder, or add --force to delete it and everything in it"
            )
        reason = _protected(folder)
        if reason is not None:
            raise DemoFolderError(f"--dir {folder}: will not delete it ({reason}); give another folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    (folder / MARKER).write_text(
        f"made by skymist demo (pid {os.getpid()}) at {stamp}; the next `skymist demo --dir` of this "
        "folder deletes and recreates it\n"
    )
    (folder / "products").mkdir()
    (folder / "README.txt").write_text(legend_text(folder))
    return folder


def legend_lines() -> list[str]:
    """The legend, one line per kind of file."""
    width = max(len(pattern) for pattern, _ in LEGEND)
    return [f"  {pattern:<{width}}  {meaning}" for pattern, meaning in LEGEND]


def legend_text(folder: Path) -> str:
    lines = [
        f"What skymist demo wrote in {folder}:",
        "",
        *legend_lines(),
        "",
        "RUNID_EVENTID is the detector's run and event number; NAME the alert's public name",
        "(IceCube-YYMMDD + A, B, ...). Every product was read back from the embedded Kafka-protocol",
        "broker exactly as SkyMist sent it. Refined (rev1) products of an approximate scan are held",
        "until a human approves the Circular, so they are not on the broker and not in products/.",
    ]
    return "\n".join(lines) + "\n"
