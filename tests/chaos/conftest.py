"""The chaos suite: every test is slow (run in CI's long job: ``pytest -m slow tests/chaos``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)
