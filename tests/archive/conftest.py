"""Fixtures of the archive tests: the real scan of IceCube-220524A (shared with the refine tests), and an
app that has sent both shared real alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skymist.app import App
from tests.archive.support import replay_real_alerts, settings_for
from tests.refine.conftest import gcn_circulars, real_scan_doc, real_scan_json

__all__ = ["gcn_circulars", "real_alerts_app", "real_scan_doc", "real_scan_json"]


@pytest.fixture
def real_alerts_app(app_factory: Any, shared_dir: Path, tmp_path: Path) -> App:
    """An app with the archive tests' settings (under ``tmp_path``) that has sent both shared real alerts."""
    app: App = app_factory(**settings_for(tmp_path))
    replay_real_alerts(app, shared_dir)
    return app
