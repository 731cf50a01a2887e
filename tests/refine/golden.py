"""Golden files: rendered products compared byte for byte with reviewed copies in ``golden/``.

Regenerate on purpose only: ``SKYMIST_UPDATE_GOLDEN=1 pytest tests/refine`` rewrites the files (each
rewrite is reported as a warning), then review ``git diff tests/refine/golden``. Without the
variable a missing or different golden file fails the test.
"""

from __future__ import annotations

import difflib
import os
import warnings
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE_ENV = "SKYMIST_UPDATE_GOLDEN"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(text)
        warnings.warn(f"golden file {path.name} rewritten ({UPDATE_ENV}=1): review the diff", stacklevel=2)
        return
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing: create it with {UPDATE_ENV}=1 and review it")
    expected = path.read_text()
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True), "golden", "rendered"
            )
        )
        pytest.fail(
            f"{name} differs from its golden file (regenerate with {UPDATE_ENV}=1 if intended):\n{diff}"
        )
