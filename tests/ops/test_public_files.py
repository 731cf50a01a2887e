"""Public product files (skymap FITS/PNG, Circular files) are readable by the web server: 0644 files
in 0755 folders, written atomically, whatever the daemon's umask."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from skymist.files import write_atomic
from skymist.outbox.sinks.base import OutboxItem
from skymist.outbox.sinks.circulars import CircularsFileSink
from skymist.skymap.alert_files import staged_skymap
from skymist.skymap.analysis import analyze_path
from skymist.skymap.convert import metadata_from_event_message


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """The umask of a hardened service (UMask=0077): mkstemp and mkdir alone would give 0600/0700."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def test_write_atomic_gives_public_modes(tmp_path: Path, strict_umask: None) -> None:
    written = write_atomic(tmp_path / "a" / "b" / "map.fits", b"SIMPLE")
    assert mode(written.path) == 0o644
    assert mode(tmp_path / "a") == 0o755 and mode(tmp_path / "a" / "b") == 0o755
    assert written.path.read_bytes() == b"SIMPLE"
    assert [p.name for p in written.path.parent.iterdir()] == ["map.fits"]  # no temporary left


def test_circular_file_is_public(tmp_path: Path, strict_umask: None) -> None:
    sink = CircularsFileSink(tmp_path / "circulars")
    item = OutboxItem(
        id=1, sink="circulars", destination="IceCube-220524A", product="circular",
        idempotency_key="k", payload=json.dumps({"subject": "S", "body": "B"}).encode(),
        content_type="application/json", message_key=None, verify_hint=None, in_doubt=False,
    )  # fmt: skip
    [result] = sink.send([item])
    assert result.ok, result.error
    path = tmp_path / "circulars" / "IceCube-220524A.txt"
    assert mode(path) == 0o644 and mode(path.parent) == 0o755


def test_skymap_files_are_public(shared_dir: Path, tmp_path: Path, strict_umask: None) -> None:
    real = shared_dir / "data" / "real"
    npz = real / "run00136662-evt000035405932-BRONZE-8_64_512.npz"
    event = json.loads((real / "run00136662-evt000035405932-BRONZE.json").read_bytes())
    analysis = analyze_path(npz, "calibrated", metadata=metadata_from_event_message(event))
    folder = tmp_path / "skymaps" / "IceCube-220524A"
    with staged_skymap(analysis, folder, None) as staged:
        files = staged.publish("IceCube-220524A", "rev1", "https://example.org/alerts")
    for file in (files.flat_fits, files.multiorder_fits, files.png):
        assert mode(file.path) == 0o644, file.path
    assert mode(folder) == 0o755 and mode(folder.parent) == 0o755
