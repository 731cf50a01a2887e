"""Paths built from data stay inside their root (:func:`skymist.files.path_inside`), and the record
writer removes only files it wrote itself (issue 20). Real files, real PostgreSQL, the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from skymist.archive.errors import ArchiveError
from skymist.archive.verify import verify_record
from skymist.archive.writer import OWN_FILES, write_files, write_record
from skymist.cli.main import main
from skymist.files import PathOutsideRootError, path_inside
from tests.archive.support import drain, hashes, settings_for
from tests.refine.support import record_alert


def plant(folder: Path, *names: str) -> dict[str, bytes]:
    planted = {}
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"not SkyMist's: {name}\n".encode())
        planted[name] = path.read_bytes()
    return planted


def test_path_inside_keeps_paths_from_data_in_their_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inner").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "out-link")
    os.symlink(root / "inner", root / "in-link")

    assert path_inside(root, "IceCube-220524A") == root / "IceCube-220524A"
    assert path_inside(root, "a", "data/b.json") == root / "a" / "data" / "b.json"
    assert path_inside(root, "in-link", "x") == root / "in-link" / "x"  # a symlink that stays inside
    refused = {
        "..": ("..",),
        "../ sibling": ("../outside",),
        ".. in the middle": ("a/../../outside",),
        ".. as a later part": ("a", ".."),
        "absolute": (str(outside),),
        "symlink out": ("out-link",),
        "through a symlink out": ("out-link", "file.txt"),
        "NUL": ("a\x00b",),
        "backslash": ("..\\outside",),
        "empty": ("",),
        "the root itself": (".",),
    }
    for case, parts in refused.items():
        with pytest.raises(PathOutsideRootError) as caught:
            path_inside(root, *parts)
        assert str(root) in str(caught.value), case
        print(f"{case}: {caught.value}")
    loop = root / "loop"
    os.symlink(loop, loop)
    with pytest.raises(PathOutsideRootError):
        path_inside(root, "loop", "x")
    assert sorted(p.name for p in outside.iterdir()) == []


def test_the_writer_removes_only_files_it_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "IceCube-220524A"
    first = write_files(folder, [("data/a.json", b"a"), ("data/old.json", b"old"), ("t.txt", b"t")], "x")
    assert sorted(first.written) == ["data/a.json", "data/old.json", "t.txt"]
    own = json.loads((folder / OWN_FILES).read_bytes())["files"]
    assert sorted(own) == ["data/a.json", "data/old.json", "t.txt"]
    planted = plant(folder, "data/operator-notes.txt", "README", "deep/er/file.bin")
    (folder / "t.txt").write_bytes(b"changed by someone")  # the writer's file, no longer its bytes
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside")
    os.symlink(outside, folder / "data" / "link.txt")

    second = write_files(folder, [("data/a.json", b"a")], "x")

    assert second.removed == ["data/old.json"]
    assert sorted(second.kept) == [
        "README",
        "data/link.txt",
        "data/operator-notes.txt",
        "deep/er/file.bin",
        "t.txt",
    ]
    for name, data in planted.items():
        assert (folder / name).read_bytes() == data
    assert (folder / "t.txt").read_bytes() == b"changed by someone"
    assert outside.read_bytes() == b"outside" and (folder / "data" / "link.txt").is_symlink()
    assert json.loads((folder / OWN_FILES).read_bytes())["files"] == {"data/a.json": own["data/a.json"]}
    with pytest.raises(ArchiveError, match="record file refused"):
        write_files(folder, [("../escape.json", b"x")], "x")
    assert not (tmp_path / "escape.json").exists()


def test_a_write_cut_short_leaves_the_old_index_so_the_record_stays_stale(tmp_path: Path) -> None:
    """The index (data/record.json, what the sweep reads to judge a record current) is written after
    every other file: a write that fails (or is killed) part-way leaves the old index, so the sweep
    writes the record again instead of keeping a bag without its manifest."""
    folder = tmp_path / "IceCube-220524A"
    version = [("data/record.json", b"v1"), ("data/a.json", b"a1"), ("manifest-sha256.txt", b"m1")]
    write_files(folder, version, "x")
    (folder / "manifest-sha256.txt").unlink()
    (folder / "manifest-sha256.txt").mkdir()  # this file cannot be written now: the write stops there

    with pytest.raises(OSError):
        write_files(
            folder, [("data/record.json", b"v2"), ("data/a.json", b"a2"), ("manifest-sha256.txt", b"m2")], "x"
        )

    assert (folder / "data" / "a.json").read_bytes() == b"a2"
    assert (folder / "data" / "record.json").read_bytes() == b"v1"


def test_a_writer_killed_mid_file_leaves_no_stray_file_in_the_bag(tmp_path: Path) -> None:
    """kill -9 inside ``write_atomic`` leaves its temporary (``.<name>.<random>.tmp``) beside the file:
    the next write of the record removes it (the bag's Payload-Oxum counts every file in data/), and
    keeps a dot file that is not the temporary of one of its own files."""
    folder = tmp_path / "IceCube-220524A"
    write_files(folder, [("data/input/inbox-5.json", b"in"), ("data/record.json", b"r1")], "x")
    left = plant(folder, "data/input/.inbox-5.json.fju3ls04.tmp", "data/.record.json.k2_x9.tmp")
    foreign = plant(folder, "data/.operator.txt.a1.tmp", "data/.hidden")

    again = write_files(folder, [("data/input/inbox-5.json", b"in"), ("data/record.json", b"r2")], "x")

    assert sorted(again.removed) == sorted(left)
    assert not any((folder / name).exists() for name in left)
    for name, data in foreign.items():
        assert (folder / name).read_bytes() == data


def test_a_record_folder_is_never_outside_the_archive(
    app_factory: Any, shared_dir: Path, tmp_path: Path
) -> None:
    """The alert's folder in the archive is a symlink to a folder outside: refused, nothing written
    or removed there."""
    app = app_factory(**settings_for(tmp_path))
    victim = tmp_path / "victim"
    planted = plant(victim, "a.txt", "data/b.json", "bagit.txt")
    app.settings.archive_root.mkdir(parents=True)
    os.symlink(victim, app.settings.archive_root / "IceCube-220524A")
    alert_id = record_alert(app, shared_dir)
    with pytest.raises(ArchiveError, match="outside that folder"):
        write_record(app.settings, app.sessions, alert_id)
    assert sorted(hashes(victim)) == sorted(planted)  # nothing added, nothing removed
    assert {name: (victim / name).read_bytes() for name in planted} == planted


def test_a_real_record_keeps_files_it_did_not_write(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(**settings_for(tmp_path))
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    alert_id = record_alert(app, shared_dir)
    drain(app)  # Rev 0 sent, the record written by the after-sent hook
    folder = app.settings.archive_root / "IceCube-220524A"
    assert verify_record(folder) == []
    written = hashes(folder)
    planted = plant(folder, "operator-notes.txt", "extra/kept.bin")

    outcome = write_record(app.settings, app.sessions, alert_id)
    assert outcome.removed == [] and sorted(outcome.kept) == ["extra/kept.bin", "operator-notes.txt"]
    assert main(["--database-url", database_url, "archive", "rebuild", "--fresh", "IceCube-220524A"]) == 0
    assert {name: (folder / name).read_bytes() for name in planted} == planted
    after = hashes(folder)
    assert {k: v for k, v in after.items() if k not in planted} == written  # byte for byte again
