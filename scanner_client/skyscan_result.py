"""The skyreader result format (``skyscan_result``): one map per nside.

``{"nside-8": {"columns": [...], "metadata": {...}, "data": [[index, llh, ...], ...]}, ...}``.
NaN travels as the string ``"<skyreader.nan>"`` (skyreader >= 1.4.6) or as a bare ``NaN``
token (older results); both are read as ``float('nan')``, and NaN is always written as the string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final, NamedTuple

from pydantic import BaseModel, ConfigDict, RootModel, field_validator, model_validator

from skybase.json_types import JSONObject, JSONValue

NAN_SENTINEL: Final = "<skyreader.nan>"
COLUMNS_V0: Final = ("index", "llh", "E_in", "E_tot")
COLUMNS_V1: Final = (*COLUMNS_V0, "X", "Y", "Z", "T")
_NSIDE_KEY = re.compile(r"nside-(\d+)")


def decode_nan(value: JSONValue) -> JSONValue:
    """Replace the NaN sentinel string by ``float('nan')``, recursively."""
    if value == NAN_SENTINEL:
        return math.nan
    if isinstance(value, list):
        return [decode_nan(v) for v in value]
    if isinstance(value, dict):
        return {k: decode_nan(v) for k, v in value.items()}
    return value


def encode_nan(value: JSONValue) -> JSONValue:
    """Replace every NaN float by the sentinel string, recursively (valid JSON out)."""
    if isinstance(value, float) and math.isnan(value):
        return NAN_SENTINEL
    if isinstance(value, list | tuple):
        return [encode_nan(v) for v in value]
    if isinstance(value, Mapping):
        return {k: encode_nan(v) for k, v in value.items()}
    return value


class NsideMetadata(BaseModel):
    """Per-nside metadata; unknown keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    nside: int
    complete: bool = False
    run_id: int | None = None
    event_id: int | None = None
    event_type: str | None = None
    mjd: float | None = None
    is_real_event: bool | None = None
    version: int = 0


class NsideResult(BaseModel):
    """The pixels scanned at one nside: ``columns``, ``metadata`` and one row per pixel."""

    model_config = ConfigDict(extra="allow", frozen=True)

    columns: tuple[str, ...]
    metadata: NsideMetadata
    data: tuple[tuple[int | float, ...], ...]

    @field_validator("data", mode="before")
    @classmethod
    def _decode(cls, value: JSONValue) -> JSONValue:
        return decode_nan(value)

    @model_validator(mode="after")
    def _check_shape(self) -> NsideResult:
        if self.columns not in (COLUMNS_V0, COLUMNS_V1):
            raise ValueError(
                f"columns: expected {list(COLUMNS_V1)} or {list(COLUMNS_V0)}, got {self.columns}"
            )
        for row in self.data:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"data: row {list(row)} has {len(row)} values for {len(self.columns)} columns"
                )
        return self

    def column(self, name: str) -> list[float]:
        """All values of one column, in row order."""
        position = self.columns.index(name)
        return [float(row[position]) for row in self.data]

    @property
    def indices(self) -> list[int]:
        """HEALPix RING pixel indices, in row order."""
        return [int(row[0]) for row in self.data]


class BestPixel(NamedTuple):
    nside: int
    pixel: int
    llh: float


class SkyscanResult(RootModel[dict[str, NsideResult]]):
    """A whole (partial or final) scan result, keyed ``"nside-N"``."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _check_keys(self) -> SkyscanResult:
        for key, nside_result in self.root.items():
            match = _NSIDE_KEY.fullmatch(key)
            if not match:
                raise ValueError(f"skyscan_result: key {key!r} is not of the form 'nside-N'")
            if int(match.group(1)) != nside_result.metadata.nside:
                raise ValueError(
                    f"skyscan_result: {key!r} holds metadata.nside={nside_result.metadata.nside}"
                )
        return self

    @property
    def nsides(self) -> list[int]:
        return sorted(v.metadata.nside for v in self.root.values())

    def at(self, nside: int) -> NsideResult:
        return self.root[f"nside-{nside}"]

    @property
    def n_pixels(self) -> int:
        return sum(len(v.data) for v in self.root.values())

    @property
    def complete(self) -> bool:
        return bool(self.root) and all(v.metadata.complete for v in self.root.values())

    def best_fit(self) -> BestPixel | None:
        """The pixel with the lowest llh over all nsides (NaN ignored)."""
        best: BestPixel | None = None
        for value in self.root.values():
            llh_at = value.columns.index("llh")
            for row in value.data:
                llh = float(row[llh_at])
                if not math.isnan(llh) and (best is None or llh < best.llh):
                    best = BestPixel(value.metadata.nside, int(row[0]), llh)
        return best

    def to_wire(self) -> JSONObject:
        """The JSON form, NaN written as the sentinel string."""
        encoded: JSONObject = encode_nan(self.model_dump(mode="python"))
        return encoded
