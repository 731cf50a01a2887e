"""Skymap analysis of scan results and the skymap products.

Modules, one step each:

* :mod:`~skymist.skymap.reader`: read skyreader JSON (v0/v1), skyreader NPZ and legacy NPZ;
* :mod:`~skymist.skymap.multires`: the multi-resolution (multi-order) map and the best fit;
* :mod:`~skymist.skymap.regions`, :mod:`~skymist.skymap.errorbox`, :mod:`~skymist.skymap.contours`:
  50% / 90% regions for a named threshold set, their error boxes, areas and contour lines;
* :mod:`~skymist.skymap.drawn_region`: the regions as the picture draws them (finest pixels only,
  coarse pixels reshaped along the interpolated map, the stated area);
* :mod:`~skymist.skymap.analysis`: all of the above in one typed result (:class:`SkymapAnalysis`);
* :mod:`~skymist.skymap.fits_flat`, :mod:`~skymist.skymap.fits_moc`, :mod:`~skymist.skymap.picture`,
  :mod:`~skymist.skymap.products`: the files, written atomically with their sha256;
* :mod:`~skymist.skymap.convert`: legacy NPZ to skyreader v1 JSON;
* :mod:`~skymist.cli.skymap_cmd`: the ``skymist skymap`` commands.

The names below are imported lazily, so ``import skymist.skymap`` stays cheap (healpy and astropy
load only when used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skymist.files import WrittenFile
    from skymist.skymap.analysis import SkymapAnalysis, analyze_path, analyze_scan
    from skymist.skymap.convert import convert_file, metadata_from_event_message
    from skymist.skymap.errors import SkymapInputError
    from skymist.skymap.model import (
        THRESHOLD_SETS,
        BestFit,
        ErrorBox,
        PixelConvention,
        Region,
        ScanMetadata,
        ScanResult,
        ThresholdSet,
    )
    from skymist.skymap.picture import ComparisonPosition
    from skymist.skymap.products import SkymapProducts, write_products
    from skymist.skymap.reader import parse_skyscan_result, read_scan

__all__ = [
    "THRESHOLD_SETS",
    "BestFit",
    "ComparisonPosition",
    "ErrorBox",
    "PixelConvention",
    "Region",
    "ScanMetadata",
    "ScanResult",
    "SkymapAnalysis",
    "SkymapInputError",
    "SkymapProducts",
    "ThresholdSet",
    "WrittenFile",
    "analyze_path",
    "analyze_scan",
    "convert_file",
    "metadata_from_event_message",
    "parse_skyscan_result",
    "read_scan",
    "write_products",
]

_HOME = {
    "SkymapAnalysis": "analysis",
    "analyze_path": "analysis",
    "analyze_scan": "analysis",
    "WrittenFile": "atomic",
    "convert_file": "convert",
    "metadata_from_event_message": "convert",
    "SkymapInputError": "errors",
    "THRESHOLD_SETS": "model",
    "BestFit": "model",
    "ErrorBox": "model",
    "PixelConvention": "model",
    "Region": "model",
    "ScanMetadata": "model",
    "ScanResult": "model",
    "ThresholdSet": "model",
    "ComparisonPosition": "picture",
    "SkymapProducts": "products",
    "write_products": "products",
    "parse_skyscan_result": "reader",
    "read_scan": "reader",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'skymist.skymap' has no attribute {name!r}")
    return getattr(importlib.import_module(f"skymist.skymap.{module}"), name)
