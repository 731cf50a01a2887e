"""Scan results in skyreader's JSON format (``skyscan_result`` of SkyDriver's ``PUT /scan/{id}/result``).

One entry per nside, keys and order as skyreader's ``SkyScanResult.serialize()`` writes them::

    {"nside-8": {"columns": ["index", "llh", "E_in", "E_tot", "X", "Y", "Z", "T"],
                 "data": [[0, 1177.27, "<skyreader.nan>", ...], ...],          # rows sorted by index
                 "metadata": {"nside": 8, "complete": true, "run_id": ..., "event_id": ...,
                              "event_type": "neutrino", "mjd": ..., "is_real_event": true, "version": 1,
                              "reco_algo": "online_gaussian"}}, ...}

``index`` is a HEALPix RING pixel, ``llh`` is -ln L. NaN is written as the string ``"<skyreader.nan>"``
(skyreader >= 1.4.6); reading accepts it and old results' bare NaN. skyreader reads the metadata into a
dtype's metadata without checking its keys beyond ``nside``, so the extra ``reco_algo`` key is safe and
tells a reader which algorithm made the map (``online_gaussian`` is an approximation, not a fit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from skyscan.recos.base import PixelFit

NAN_SENTINEL = "<skyreader.nan>"
COLUMNS_V1: tuple[str, ...] = ("index", "llh", "E_in", "E_tot", "X", "Y", "Z", "T")
COLUMNS_V0: tuple[str, ...] = COLUMNS_V1[:4]
RESULT_VERSION = 1
PIXEL_DTYPE_V1 = np.dtype([("index", np.int64)] + [(name, np.float64) for name in COLUMNS_V1[1:]])


class ResultFormatError(ValueError):
    """A ``skyscan_result`` that is not in skyreader's format."""


@dataclass(frozen=True)
class EventMetadata:
    """skyreader's event metadata (the same five fields as SkyDriver's ``event_metadata``)."""

    run_id: int
    event_id: int
    event_type: str
    mjd: float
    is_real_event: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "mjd": self.mjd,
            "is_real_event": self.is_real_event,
        }


def nside_key(nside: int) -> str:
    return f"nside-{nside}"


def parse_nside_key(key: str) -> int:
    prefix, _, number = key.partition("-")
    if prefix != "nside" or not number.isdigit():
        raise ResultFormatError(f"skyscan_result: key {key!r} is not 'nside-<N>'")
    return int(number)


def _encode(value: float) -> float | str:
    return NAN_SENTINEL if math.isnan(value) else value


def _decode(value: object, where: str) -> float:
    if value == NAN_SENTINEL or value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResultFormatError(f"{where}: expected a number or {NAN_SENTINEL!r}, got {value!r}")
    return float(value)


def build_result(
    fits_by_nside: Mapping[int, Mapping[int, PixelFit]],
    event: EventMetadata,
    *,
    complete: bool,
    reco_algo: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The skyreader-format result of the pixels fitted so far (nsides in increasing order)."""
    result: dict[str, dict[str, Any]] = {}
    for nside in sorted(fits_by_nside):
        fits = fits_by_nside[nside]
        if not fits:
            continue
        metadata: dict[str, Any] = {
            "nside": nside,
            "complete": complete,
            **event.as_dict(),
            "version": RESULT_VERSION,
        }
        if reco_algo is not None:
            metadata["reco_algo"] = reco_algo
        result[nside_key(nside)] = {
            "columns": list(COLUMNS_V1),
            "data": [[index, *(_encode(v) for v in fits[index].as_list())] for index in sorted(fits)],
            "metadata": metadata,
        }
    return result


@dataclass(frozen=True)
class NsidePixels:
    """One nside of a parsed result: a structured array (v1 columns, v0 results padded with NaN)."""

    nside: int
    pixels: npt.NDArray[np.void]
    metadata: dict[str, Any]


def parse_result(skyscan_result: Mapping[str, Any]) -> dict[int, NsidePixels]:
    """Read a skyreader-format result (v0 or v1 columns; NaN as the sentinel or bare), sorted by index."""
    parsed: dict[int, NsidePixels] = {}
    for key, entry in skyscan_result.items():
        nside = parse_nside_key(key)
        if not isinstance(entry, Mapping) or set(entry) != {"columns", "data", "metadata"}:
            shown = sorted(entry) if isinstance(entry, Mapping) else type(entry).__name__
            raise ResultFormatError(
                f"skyscan_result.{key}: expected keys columns, data, metadata; got {shown}"
            )
        columns = tuple(entry["columns"])
        if columns not in (COLUMNS_V0, COLUMNS_V1):
            raise ResultFormatError(
                f"skyscan_result.{key}.columns: not skyreader's v0 or v1 columns: {list(columns)}"
            )
        metadata = dict(entry["metadata"]) if isinstance(entry["metadata"], Mapping) else {}
        if metadata.get("nside") != nside:
            raise ResultFormatError(
                f"skyscan_result.{key}.metadata.nside: expected {nside}, got {metadata.get('nside')!r}"
            )
        rows = entry["data"]
        pixels = np.zeros(len(rows), dtype=PIXEL_DTYPE_V1)
        for position, row in enumerate(rows):
            where = f"skyscan_result.{key}.data[{position}]"
            if not isinstance(row, list) or len(row) != len(columns):
                raise ResultFormatError(f"{where}: expected {len(columns)} values, got {row!r}")
            index = row[0]
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 12 * nside * nside:
                raise ResultFormatError(f"{where}: index {index!r} is not a pixel of nside {nside}")
            pixels[position] = (
                index,
                *(_decode(v, where) for v in row[1:]),
                *([np.nan] * (8 - len(columns))),
            )
        pixels.sort(order="index")
        parsed[nside] = NsidePixels(nside, pixels, metadata)
    return parsed
