"""Fixtures of the console tests: the real skyscan service of the scan tests and IceCube-220524A's
real scan of the refined-products tests."""

from tests.refine.conftest import real_scan_doc, real_scan_json
from tests.scans.conftest import skyscan

__all__ = ["real_scan_doc", "real_scan_json", "skyscan"]
