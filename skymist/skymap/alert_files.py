"""The skymap files of a localization, in ``data_dir/skymaps/<folder>/`` and at ``public_base_url/<folder>/``.

The files are first written completely (each atomically, with its sha256) into a staging folder
beside their final place, outside any transaction. Inside the transaction that records the
localization they are renamed into place (``os.replace``: atomic on one file system) under names
that carry the revision, so a rescan never overwrites the map an earlier notice links to.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from skymist.files import WrittenFile, make_public_dir, path_inside
from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.picture import ComparisonPosition
from skymist.skymap.products import product_stem, write_products

FileKind = Literal["flat_fits", "multiorder_fits", "png", "pdf"]
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class SkymapFile:
    """One published skymap file: where it is, its sha256, and its public URL."""

    kind: FileKind
    path: Path
    sha256: str
    url: str


@dataclass(frozen=True)
class SkymapFiles:
    flat_fits: SkymapFile
    multiorder_fits: SkymapFile
    png: SkymapFile
    #: the picture as PDF (None for localizations recorded before it was made)
    pdf: SkymapFile | None = None

    def all(self) -> tuple[SkymapFile, ...]:
        files = (self.flat_fits, self.multiorder_fits, self.png)
        return files if self.pdf is None else (*files, self.pdf)


def folder_name(name: str | None, run_id: int, event_id: int) -> str:
    """The alert's folder: its public name, else ``RUNID_EVENTID``."""
    folder = name or f"{run_id}_{event_id}"
    if not _SAFE.match(folder):
        raise ValueError(f"alert name = {folder!r}: not usable as a folder name")
    return folder


def public_url(base_url: str, folder: str, file_name: str) -> str:
    return f"{base_url.rstrip('/')}/{folder}/{file_name}"


class StagedSkymap:
    """Skymap files written into a staging folder, waiting to be renamed into place."""

    def __init__(self, folder_path: Path, staging: Path, stem: str, written: dict[FileKind, WrittenFile]):
        self.folder_path = folder_path
        self.staging = staging
        self.stem = stem
        self.written = written

    def publish(self, folder: str, tag: str, base_url: str) -> SkymapFiles:
        """Rename the files to ``<folder>_<tag><suffix>`` in the alert's folder; atomic per file."""
        out: dict[FileKind, SkymapFile] = {}
        for kind, written in self.written.items():
            suffix = written.path.name[len(self.stem) :]
            final = path_inside(self.folder_path, f"{folder}_{tag}{suffix}")
            os.replace(written.path, final)
            out[kind] = SkymapFile(kind, final, written.sha256, public_url(base_url, folder, final.name))
        _fsync_dir(self.folder_path)
        return SkymapFiles(out["flat_fits"], out["multiorder_fits"], out["png"], out.get("pdf"))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def staged_skymap(
    analysis: SkymapAnalysis, folder_path: Path, comparison: ComparisonPosition | None
) -> Iterator[StagedSkymap]:
    """Write the flat FITS, multi-order FITS, PNG and PDF into a staging folder inside ``folder_path``;
    whatever was not published is removed on exit."""
    make_public_dir(folder_path)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder_path))
    try:
        products = write_products(analysis, staging, png=True, comparison=comparison)
        assert products.png is not None and products.pdf is not None
        stem = product_stem(analysis)
        written: dict[FileKind, WrittenFile] = {
            "flat_fits": products.flat_fits,
            "multiorder_fits": products.multiorder_fits,
            "png": products.png,
            "pdf": products.pdf,
        }
        for file in written.values():
            if not file.path.name.startswith(stem):
                raise RuntimeError(f"skymap file {file.path.name!r} does not start with the stem {stem!r}")
        yield StagedSkymap(folder_path, staging, stem, written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
