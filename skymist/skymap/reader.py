"""Read scan results: skyreader JSON (v0 and v1), skyreader NPZ with header, legacy NPZ.

Accepted inputs:

* skyreader JSON ``{"nside-N": {"columns": [...], "metadata": {...}, "data": [[...], ...]}}`` with
  v0 columns ``index, llh, E_in, E_tot`` or v1 ``... X, Y, Z, T``; NaN as the string
  ``"<skyreader.nan>"`` or as a bare ``NaN`` token; also wrapped in SkyDriver's result body
  ``{"scan_id", "skyscan_result", "is_final"}``;
* skyreader NPZ: structured arrays ``nside-N`` plus a ``header`` array carrying the metadata;
* legacy NPZ: structured arrays ``nside-N`` only (no metadata).

The pixel convention is chosen by format (legacy NPZ: pre-2023 ``Dec = theta - 90 deg``;
everything with metadata: ``Dec = 90 deg - theta``) unless the caller names one, and it is recorded
in the returned :class:`ScanResult`, whose indices are always re-expressed in the current convention.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skybase.json_types import JSONValue
from skymist.skymap.errors import SkymapInputError
from skymist.skymap.healpix import is_valid_nside, mirror_ring
from skymist.skymap.model import NsideLayer, PixelConvention, ScanMetadata, ScanResult, SourceFormat

__all__ = [
    "COLUMNS_V0",
    "COLUMNS_V1",
    "NAN_SENTINEL",
    "metadata_from_filename",
    "parse_skyscan_result",
    "read_scan",
]

NAN_SENTINEL = "<skyreader.nan>"
COLUMNS_V0: tuple[str, ...] = ("index", "llh", "E_in", "E_tot")
COLUMNS_V1: tuple[str, ...] = (*COLUMNS_V0, "X", "Y", "Z", "T")
_COLUMNS_BY_VERSION: dict[int, tuple[str, ...]] = {0: COLUMNS_V0, 1: COLUMNS_V1}
_NSIDE_KEY = re.compile(r"^nside-(\d+)$")
_FILENAME_IDS = re.compile(r"run0*(\d+)[._-]evt0*(\d+)", re.IGNORECASE)


# --------------------------------------------------------------------------------------- public


def read_scan(path: str | Path, *, convention: PixelConvention | None = None) -> ScanResult:
    """Read a scan result file (``.json`` or ``.npz``; other names are sniffed by content)."""
    p = Path(path)
    source = str(p)
    try:
        with p.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise SkymapInputError(source, "path", str(p), f"cannot read: {exc.strerror or exc}") from None
    if p.suffix.lower() == ".npz" or head.startswith(b"PK"):
        return _read_npz(p, convention)
    try:
        doc = json.loads(p.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SkymapInputError(source, "file", p.name, f"not JSON ({exc})") from None
    return parse_skyscan_result(doc, source=source, convention=convention)


def parse_skyscan_result(
    doc: JSONValue, *, source: str = "<skyscan_result>", convention: PixelConvention | None = None
) -> ScanResult:
    """Parse an in-memory skyreader result (e.g. SkyDriver's ``skyscan_result``)."""
    if isinstance(doc, Mapping) and "skyscan_result" in doc:
        doc = doc["skyscan_result"]
    if not isinstance(doc, Mapping):
        raise SkymapInputError(
            source, "result", type(doc).__name__, "expected an object of 'nside-N' entries"
        )
    if not doc:
        raise SkymapInputError(source, "result", {}, "empty: no 'nside-N' entries (no result yet?)")
    layers: list[NsideLayer] = []
    metas: list[tuple[str, Mapping[str, JSONValue]]] = []
    versions: set[int] = set()
    completes: list[bool] = []
    for key, entry in doc.items():
        nside = _parse_nside_key(source, key)
        layer, meta, version = _parse_json_entry(source, key, nside, entry)
        layers.append(layer)
        metas.append((key, meta))
        versions.add(version)
        if isinstance(meta.get("complete"), bool):
            completes.append(bool(meta["complete"]))
    if len(versions) > 1:
        raise SkymapInputError(source, "metadata.version", sorted(versions), "differs between nsides")
    metadata = _metadata_from_json(source, metas)
    conv, reason = _choose(convention, PixelConvention.CURRENT, "skyreader JSON with metadata")
    return _finish(
        layers,
        metadata,
        source,
        SourceFormat.SKYREADER_JSON,
        conv,
        reason,
        versions.pop(),
        all(completes) if completes else None,
    )


def metadata_from_filename(name: str) -> ScanMetadata:
    """Run and event ids from a name like ``run00136662-evt000035405932-...`` (else empty)."""
    match = _FILENAME_IDS.search(name)
    if match is None:
        return ScanMetadata()
    return ScanMetadata(run_id=int(match.group(1)), event_id=int(match.group(2)), origin="file name")


# ------------------------------------------------------------------------------------ helpers


def _choose(
    requested: PixelConvention | None, default: PixelConvention, why: str
) -> tuple[PixelConvention, str]:
    if requested is None:
        return default, f"format default: {why}"
    return PixelConvention(requested), "chosen by the caller"


def _parse_nside_key(source: str, key: object) -> int:
    match = _NSIDE_KEY.match(key) if isinstance(key, str) else None
    if match is None:
        raise SkymapInputError(source, "key", key, "expected 'nside-N' with N a power of two")
    nside = int(match.group(1))
    if not is_valid_nside(nside):
        raise SkymapInputError(source, "key", key, "nside must be a power of two between 1 and 2^29")
    return nside


def _parse_json_entry(
    source: str, key: str, nside: int, entry: JSONValue
) -> tuple[NsideLayer, Mapping[str, JSONValue], int]:
    if not isinstance(entry, Mapping):
        raise SkymapInputError(source, key, type(entry).__name__, "expected an object")
    keys = set(entry)
    if keys != {"columns", "metadata", "data"}:
        missing = sorted({"columns", "metadata", "data"} - keys)
        extra = sorted(keys - {"columns", "metadata", "data"})
        raise SkymapInputError(
            source,
            f"{key} keys",
            sorted(keys),
            f"expected columns, metadata, data (missing {missing}, extra {extra})",
        )
    meta = entry["metadata"]
    if not isinstance(meta, Mapping):
        raise SkymapInputError(source, f"{key}.metadata", meta, "expected an object")
    version = meta.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version not in _COLUMNS_BY_VERSION:
        raise SkymapInputError(source, f"{key}.metadata.version", version, "expected 0 or 1")
    expected = _COLUMNS_BY_VERSION[version]
    columns = entry["columns"]
    if not isinstance(columns, list) or tuple(columns) != expected:
        raise SkymapInputError(
            source, f"{key}.columns", columns, f"expected {list(expected)} for result version {version}"
        )
    meta_nside = meta.get("nside")
    if meta_nside != nside or isinstance(meta_nside, bool):
        raise SkymapInputError(
            source, f"{key}.metadata.nside", meta_nside, f"does not match the key ({nside})"
        )
    data = entry["data"]
    if not isinstance(data, list):
        raise SkymapInputError(source, f"{key}.data", type(data).__name__, "expected a list of rows")
    table = _rows_to_float(source, key, data, expected)
    layer = _make_layer(source, key, nside, table, expected)
    return layer, meta, version


def _rows_to_float(
    source: str, key: str, data: list[JSONValue], columns: Sequence[str]
) -> NDArray[np.float64]:
    ncol = len(columns)
    if not data:
        return np.empty((0, ncol), dtype=np.float64)
    try:  # fast path: all numbers (bare NaN tokens are already floats)
        table = np.array(data, dtype=np.float64)
    except (TypeError, ValueError):
        try:
            obj = np.array(data, dtype=object)
        except ValueError:
            obj = np.empty(0, dtype=object)
        if obj.ndim != 2 or obj.shape[1] != ncol:
            _raise_bad_row_shape(source, key, data, ncol)
        obj[obj == NAN_SENTINEL] = math.nan
        try:
            table = obj.astype(np.float64)
        except (TypeError, ValueError):
            _raise_bad_cell(source, key, obj, columns)
    if table.ndim != 2 or table.shape[1] != ncol:
        _raise_bad_row_shape(source, key, data, ncol)
    return table


def _raise_bad_row_shape(source: str, key: str, data: list[JSONValue], ncol: int) -> None:
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != ncol:
            raise SkymapInputError(source, f"{key}.data[{i}]", row, f"expected a row of {ncol} values")
    raise SkymapInputError(source, f"{key}.data", "...", f"expected rows of {ncol} values")


def _raise_bad_cell(source: str, key: str, obj: NDArray[Any], columns: Sequence[str]) -> None:
    for i, row in enumerate(obj):
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SkymapInputError(
                    source,
                    f"{key}.data[{i}][{j}] ({columns[j]})",
                    value,
                    f"expected a number or {NAN_SENTINEL!r}",
                )
    raise SkymapInputError(source, f"{key}.data", "...", "contains values that are not numbers")


def _make_layer(
    source: str, key: str, nside: int, table: NDArray[np.float64], columns: Sequence[str]
) -> NsideLayer:
    raw_index = table[:, 0]
    npix = 12 * nside * nside
    bad = ~np.isfinite(raw_index) | (raw_index != np.floor(raw_index)) | (raw_index < 0) | (raw_index >= npix)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SkymapInputError(
            source,
            f"{key}.data[{i}][0] (index)",
            _plain(raw_index[i]),
            f"not a pixel of nside {nside} (0..{npix - 1})",
        )
    index = raw_index.astype(np.int64)
    cols = {name: np.ascontiguousarray(table[:, j]) for j, name in enumerate(columns)}
    return _layer_from_columns(source, key, nside, index, cols)


def _layer_from_columns(
    source: str, key: str, nside: int, index: NDArray[np.int64], cols: Mapping[str, NDArray[np.float64]]
) -> NsideLayer:
    order = np.argsort(index, kind="stable")
    index = index[order]
    dup = np.flatnonzero(index[1:] == index[:-1])
    if dup.size:
        raise SkymapInputError(source, f"{key} index", int(index[dup[0]]), "appears more than once")
    llh = cols["llh"][order]
    if np.isneginf(llh).any() or np.isposinf(llh).any():
        # -inf would be the best fit of everything; +inf is a failed fit: both are treated as NaN
        llh = np.where(np.isfinite(llh), llh, np.nan)

    def col(name: str) -> NDArray[np.float64] | None:
        return cols[name][order] if name in cols else None

    return NsideLayer(
        nside=nside,
        index=index,
        llh=llh,
        e_in=cols["E_in"][order],
        e_tot=cols["E_tot"][order],
        x=col("X"),
        y=col("Y"),
        z=col("Z"),
        t=col("T"),
    )


def _plain(value: JSONValue) -> JSONValue:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _metadata_from_json(source: str, metas: list[tuple[str, Mapping[str, JSONValue]]]) -> ScanMetadata:
    key, first = metas[0]
    for other_key, other in metas[1:]:
        for field in ("run_id", "event_id"):
            if other.get(field) != first.get(field):
                raise SkymapInputError(
                    source,
                    f"{other_key}.metadata.{field}",
                    other.get(field),
                    f"differs from {key}.metadata.{field} = {first.get(field)!r}",
                )
    return _metadata_from_mapping(source, f"{key}.metadata", first, origin="result")


def _metadata_from_mapping(
    source: str, where: str, meta: Mapping[str, JSONValue], origin: str
) -> ScanMetadata:
    def get_int(field: str) -> int | None:
        value = _plain(meta.get(field))
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SkymapInputError(source, f"{where}.{field}", value, "expected a non-negative integer")
        return int(value)

    def get_float(field: str) -> float | None:
        value = _plain(meta.get(field))
        if value is None or value == NAN_SENTINEL:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SkymapInputError(source, f"{where}.{field}", value, "expected a number")
        return None if math.isnan(value) else float(value)

    event_type = _plain(meta.get("event_type"))
    if event_type is not None and not isinstance(event_type, str):
        raise SkymapInputError(source, f"{where}.event_type", event_type, "expected a string")
    is_real = _plain(meta.get("is_real_event"))
    if is_real is not None and not isinstance(is_real, bool):
        raise SkymapInputError(source, f"{where}.is_real_event", is_real, "expected true or false")
    version = get_int("version")

    def get_name(field: str) -> str | None:
        value = _plain(meta.get(field))
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise SkymapInputError(source, f"{where}.{field}", value, "expected a name (a string)")
        return value

    reco_kind = get_name("reco_kind")
    if reco_kind not in (None, "reconstruction", "approximation"):
        raise SkymapInputError(
            source, f"{where}.reco_kind", reco_kind, "expected 'reconstruction' or 'approximation'"
        )
    return ScanMetadata(
        run_id=get_int("run_id"),
        event_id=get_int("event_id"),
        event_type=event_type,
        mjd=get_float("mjd"),
        is_real_event=is_real,
        version=version or 0,
        origin=origin,
        reco_algo=get_name("reco_algo"),
        reco_kind=reco_kind,
        region_method=get_name("region_method"),
    )


def _read_npz(path: Path, convention: PixelConvention | None) -> ScanResult:
    source = str(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SkymapInputError(source, "file", path.name, f"not a readable NPZ ({exc})") from None
    with npz:
        names = list(npz.files)
        header = npz["header"] if "header" in names else None
        layers: list[NsideLayer] = []
        versions: set[int] = set()
        for key in names:
            if key == "header":
                continue
            layer, version = _npz_layer(source, key, npz[key])
            layers.append(layer)
            versions.add(version)
        if not layers:
            raise SkymapInputError(source, "arrays", names, "no 'nside-N' arrays in the NPZ")
        if header is not None:
            metadata, complete = _metadata_from_npz_header(source, header)
            fmt = SourceFormat.SKYREADER_NPZ
            conv, reason = _choose(
                convention, PixelConvention.CURRENT, "skyreader NPZ with a metadata header"
            )
            data_version = metadata.version
        else:
            metadata = metadata_from_filename(path.name)
            complete = None
            fmt = SourceFormat.LEGACY_NPZ
            conv, reason = _choose(
                convention, PixelConvention.LEGACY, "legacy NPZ without metadata (pre-2023)"
            )
            data_version = max(versions)
    return _finish(layers, metadata, source, fmt, conv, reason, data_version, complete)


def _metadata_from_npz_header(source: str, header: NDArray[Any]) -> tuple[ScanMetadata, bool | None]:
    names = header.dtype.names or ()
    if header.ndim != 1 or header.size == 0 or not names:
        raise SkymapInputError(
            source, "header", str(header.dtype), "expected a structured array, one row per nside"
        )
    row = {name: _plain(header[0][name]) for name in names}
    complete = row.get("complete")
    return (
        _metadata_from_mapping(source, "header[0]", row, origin="result"),
        bool(complete) if isinstance(complete, bool) else None,
    )


def _finish(
    layers: list[NsideLayer],
    metadata: ScanMetadata,
    source: str,
    fmt: SourceFormat,
    convention: PixelConvention,
    reason: str,
    data_version: int,
    complete: bool | None,
) -> ScanResult:
    layers.sort(key=lambda layer: layer.nside)
    for a, b in itertools.pairwise(layers):
        if a.nside == b.nside:
            raise SkymapInputError(source, "nside", a.nside, "appears twice")
    if convention is PixelConvention.LEGACY:
        layers = [_to_current(layer) for layer in layers]
    if not any(np.isfinite(layer.llh).any() for layer in layers):
        raise SkymapInputError(source, "llh", "all NaN", "no pixel has a finite llh")
    return ScanResult(
        layers=tuple(layers),
        metadata=metadata,
        source=source,
        source_format=fmt,
        pixel_convention=convention,
        convention_reason=reason,
        data_version=data_version,
        complete=complete,
    )


def _to_current(layer: NsideLayer) -> NsideLayer:
    """Re-index a legacy-convention layer so that Dec = 90 deg - theta holds."""
    mirrored = mirror_ring(layer.nside, layer.index)
    order = np.argsort(mirrored, kind="stable")

    def pick(a: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
        return None if a is None else a[order]

    return NsideLayer(
        nside=layer.nside,
        index=mirrored[order],
        llh=layer.llh[order],
        e_in=layer.e_in[order],
        e_tot=layer.e_tot[order],
        x=pick(layer.x),
        y=pick(layer.y),
        z=pick(layer.z),
        t=pick(layer.t),
    )


def _npz_layer(source: str, key: str, arr: NDArray[Any]) -> tuple[NsideLayer, int]:
    """One ``nside-N`` structured array of an NPZ as a layer, with its column version (0 or 1)."""
    nside = _parse_nside_key(source, key)
    fields = arr.dtype.names or ()
    version = 1 if set(COLUMNS_V1) <= set(fields) else 0
    missing = [c for c in COLUMNS_V0 if c not in fields]
    if missing or arr.ndim != 1:
        raise SkymapInputError(
            source,
            f"{key} fields",
            list(fields),
            f"expected a 1-d structured array with {list(COLUMNS_V0)}",
        )
    raw_index = np.asarray(arr["index"])
    if raw_index.dtype.kind not in "iu":
        raise SkymapInputError(source, f"{key}.index dtype", str(raw_index.dtype), "expected integers")
    index = raw_index.astype(np.int64)
    npix = 12 * nside * nside
    bad = (index < 0) | (index >= npix)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SkymapInputError(
            source,
            f"{key}[{i}].index",
            int(index[i]),
            f"not a pixel of nside {nside} (0..{npix - 1})",
        )
    cols: dict[str, NDArray[np.float64]] = {}
    for name in COLUMNS_V1[1:] if version == 1 else COLUMNS_V0[1:]:
        try:
            cols[name] = np.asarray(arr[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise SkymapInputError(
                source, f"{key}.{name} dtype", str(arr.dtype[name]), "expected numbers"
            ) from None
    return _layer_from_columns(source, key, nside, index, cols), version
