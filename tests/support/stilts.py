"""STILTS (the system's ``stilts``: Debian's package, installed by .ci/run) as a checker of what we
publish: ``votlint`` on VOTables, ``tpipe`` reading FITS and VOTable tables. Tests that need it skip
with the reason when it is absent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

STILTS = shutil.which("stilts")

needs_stilts = pytest.mark.skipif(
    STILTS is None, reason="STILTS is not installed (apt-get install stilts; .ci/run installs it)"
)


def stilts(*args: str) -> subprocess.CompletedProcess[str]:
    assert STILTS is not None
    return subprocess.run(
        [STILTS, *args], capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL
    )


def votlint(path: Path) -> str:
    """What ``stilts votlint`` reports about the VOTable at ``path`` (empty: nothing)."""
    done = stilts("votlint", f"votable={path}")
    assert done.returncode == 0, done.stderr
    return (done.stdout + done.stderr).strip()


def read_warnings(path: Path, fmt: str) -> str:
    """What STILTS says while reading the table at ``path`` (its warnings; empty: none), after
    checking that it read the rows."""
    done = stilts("tpipe", f"in={path}", f"ifmt={fmt}", "omode=count")
    assert done.returncode == 0, done.stderr
    assert "rows:" in done.stdout, done.stdout
    return done.stderr.strip()
