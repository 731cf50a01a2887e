"""Fixtures of the console tests: the real skyscan service of the scan tests, IceCube-220524A's
real scan of the refined-products tests, and that alert localized once per worker
(:mod:`tests.console.localized_store`)."""

from tests.console.localized_store import localized_template
from tests.refine.conftest import real_scan_doc, real_scan_json
from tests.scans.conftest import skyscan

__all__ = ["localized_template", "real_scan_doc", "real_scan_json", "skyscan"]
