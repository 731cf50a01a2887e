"""Write scan results as skyreader v1 JSON (e.g. to convert a legacy NPZ).

The JSON is in the *current* pixel convention (Dec = 90 deg - theta): a legacy result is re-indexed
when it is read, so the converted file means the same sky to skyreader and to this package. The
metadata carries the provenance (``converted_from``, ``source_pixel_convention``); skyreader ignores
extra metadata keys. Missing vertex columns (X, Y, Z, T of v0 results) are written as NaN.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from skybase.event import EventFormatError, RealtimeEvent
from skybase.json_types import JSONObject, JSONValue
from skymist.files import WrittenFile, write_atomic
from skymist.skymap.errors import SkymapInputError
from skymist.skymap.model import NsideLayer, ScanMetadata, ScanResult
from skymist.skymap.reader import COLUMNS_V1, NAN_SENTINEL, read_scan

__all__ = [
    "convert_file",
    "metadata_from_event_message",
    "to_skyreader_dict",
    "write_skyreader_json",
]


def metadata_from_event_message(doc: JSONValue, source: str = "<event>") -> ScanMetadata:
    """Run/event ids, MJD and event type from a realtime ("i3live", 2021a+) event message."""
    try:
        event = RealtimeEvent.read(doc)
    except EventFormatError as exc:
        raise SkymapInputError(source, exc.field or "event", "", exc.reason) from None
    try:
        event_type: str | None = event.event_type
    except EventFormatError:
        event_type = None
    return ScanMetadata(
        run_id=event.run_id,
        event_id=event.event_id,
        event_type=event_type,
        mjd=event.mjd,
        is_real_event=event.is_real_run,
        version=1,
        origin="event message",
    )


def _json_value(value: JSONValue) -> JSONValue:
    if isinstance(value, float) and not math.isfinite(value):
        return NAN_SENTINEL
    return value


def _rows(layer: NsideLayer) -> list[list[JSONValue]]:
    n = len(layer)
    nan = np.full(n, np.nan)
    columns = [
        layer.llh,
        layer.e_in,
        layer.e_tot,
        layer.x if layer.x is not None else nan,
        layer.y if layer.y is not None else nan,
        layer.z if layer.z is not None else nan,
        layer.t if layer.t is not None else nan,
    ]
    table = np.column_stack(columns) if n else np.empty((0, 7))
    cells = table.astype(object)  # Python floats
    cells[~np.isfinite(table)] = NAN_SENTINEL
    out = np.empty((n, len(COLUMNS_V1)), dtype=object)
    out[:, 0] = layer.index.tolist()
    out[:, 1:] = cells
    rows: list[list[JSONValue]] = out.tolist()
    return rows


def to_skyreader_dict(scan: ScanResult, metadata: ScanMetadata | None = None) -> JSONObject:
    """``scan`` as a skyreader v1 result dict (``serialize()``-compatible)."""
    meta = scan.metadata if metadata is None else metadata.merged(scan.metadata)
    out: JSONObject = {}
    for layer in scan.layers:
        md: JSONObject = {
            "nside": layer.nside,
            "complete": True if scan.complete is None else scan.complete,
            "run_id": meta.run_id,
            "event_id": meta.event_id,
            "event_type": meta.event_type,
            "mjd": _json_value(meta.mjd if meta.mjd is not None else math.nan),
            "is_real_event": meta.is_real_event
            if meta.is_real_event is not None
            else (meta.run_id is not None and 100_000 <= meta.run_id < 1_000_000),
            "version": 1,
        }
        for key in ("reco_algo", "reco_kind", "region_method"):
            if getattr(meta, key) is not None:
                md[key] = getattr(meta, key)
        if scan.source_format != "skyreader-json":
            md["converted_from"] = f"{Path(scan.source).name} ({scan.source_format})"
            md["source_pixel_convention"] = str(scan.pixel_convention)
        out[f"nside-{layer.nside}"] = {"columns": list(COLUMNS_V1), "metadata": md, "data": _rows(layer)}
    return out


def write_skyreader_json(
    scan: ScanResult, path: str | Path, metadata: ScanMetadata | None = None
) -> WrittenFile:
    """Write ``scan`` as skyreader v1 JSON, atomically."""
    doc = to_skyreader_dict(scan, metadata)
    data = json.dumps(doc, allow_nan=False).encode()
    return write_atomic(path, data, "application/json")


def convert_file(
    in_path: str | Path, out_path: str | Path, metadata: ScanMetadata | None = None
) -> WrittenFile:
    """Read any supported scan result and write it as skyreader v1 JSON."""
    return write_skyreader_json(read_scan(in_path), out_path, metadata)
