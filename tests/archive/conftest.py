"""Fixtures of the archive tests: the real scan of IceCube-220524A (shared with the refine tests)."""

from __future__ import annotations

from tests.refine.conftest import gcn_circulars, real_scan_doc, real_scan_json

__all__ = ["gcn_circulars", "real_scan_doc", "real_scan_json"]
