"""Where the shared real IceCube events are: ``../shared`` beside the repository (as ``shared_dir`` finds
it), or two levels up for a git worktree kept under a sibling directory."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NEW_EVENT = "run00138632-evt000031747601-BRONZE.json"  # 2023a
OLD_EVENT = "run00136662-evt000035405932-BRONZE.json"  # 2021a
EVENTS = (NEW_EVENT, OLD_EVENT)


def real_dir() -> Path:
    for candidate in (REPO.parent / "shared", REPO / "shared", REPO.parent.parent / "shared"):
        if (candidate / "data" / "real").is_dir():
            return candidate / "data" / "real"
    pytest.fail("../shared/data/real is missing: the real IceCube test data must sit beside the repository")


@lru_cache(maxsize=4)
def _text(name: str) -> str:
    return (real_dir() / name).read_text()


def message(name: str) -> dict[str, Any]:
    """A fresh copy of a real event message."""
    loaded: dict[str, Any] = json.loads(_text(name))
    return loaded
