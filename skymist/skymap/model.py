"""Typed values of the skymap library: what a scan result holds and what an analysis returns.

Conventions used everywhere in this package:

* pixel indices are HEALPix RING indices in the *current* convention (Dec = 90 deg - theta,
  RA = phi). Results in the pre-2023 convention (Dec = theta - 90 deg) are re-indexed when read;
  the convention of the source is kept in :attr:`ScanResult.pixel_convention`;
* angles are degrees and areas square degrees (the unit is in every field name);
* ``llh`` is the minimiser's -ln L (lower is better); maps and thresholds are on 2 * Delta llh.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from skybase.json_types import JSONObject
from skymist.skymap.errors import SkymapInputError

_T = TypeVar("_T")

__all__ = [
    "THRESHOLD_SETS",
    "BestFit",
    "Contour",
    "ErrorBox",
    "NsideLayer",
    "PixelConvention",
    "Region",
    "ScanMetadata",
    "ScanResult",
    "SourceFormat",
    "ThresholdSet",
    "threshold_set",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class PixelConvention(enum.StrEnum):
    """How a result maps HEALPix (theta, phi) to the sky."""

    #: Dec = 90 deg - theta, RA = phi: skyreader results (metadata, JSON or NPZ with header), 2023 on
    CURRENT = "current"
    #: Dec = theta - 90 deg, RA = phi: legacy scanner NPZ files (no metadata), before 2023
    LEGACY = "legacy"

    @property
    def formula(self) -> str:
        return (
            "Dec = 90 deg - theta, RA = phi"
            if self is PixelConvention.CURRENT
            else "Dec = theta - 90 deg, RA = phi"
        )


class SourceFormat(enum.StrEnum):
    """The container a scan result came in."""

    SKYREADER_JSON = "skyreader-json"  # {"nside-N": {"columns", "metadata", "data"}}
    SKYREADER_NPZ = "skyreader-npz"  # structured arrays plus a "header" array with the metadata
    LEGACY_NPZ = "legacy-npz"  # structured arrays "nside-N", no metadata


@dataclass(frozen=True, slots=True)
class ThresholdSet:
    """A named pair of 50% / 90% region definitions.

    ``kind == "two_delta_llh"``: a pixel is in the region when 2 * (llh - llh_min) <= level.
    ``kind == "credible"``: highest-posterior-density region holding ``level`` of the probability
    p ~ exp(-Delta llh), normalised over the sphere (the levels are probabilities).
    """

    name: str
    kind: Literal["two_delta_llh", "credible"]
    level_50: float
    level_90: float
    description: str
    #: True when the levels were calibrated to cover systematic uncertainties too (IceCat-1's)
    includes_systematics: bool = False

    def to_dict(self) -> JSONObject:
        return {
            "name": self.name,
            "kind": self.kind,
            "level_50": self.level_50,
            "level_90": self.level_90,
            "description": self.description,
            "includes_systematics": self.includes_systematics,
        }


THRESHOLD_SETS: Mapping[str, ThresholdSet] = MappingProxyType(
    {
        "wilks": ThresholdSet(
            "wilks", "two_delta_llh", 1.39, 4.61, "Change in 2LLH based on Wilks theorem (2 dof)"
        ),
        "calibrated": ThresholdSet(
            "calibrated",
            "two_delta_llh",
            22.2,
            64.2,
            "Change in 2LLH of 22.2 (50%) and 64.2 (90%), calibrated on simulation (IceCat-1)",
            includes_systematics=True,
        ),
        "pandel_mpe": ThresholdSet(
            "pandel_mpe",
            "two_delta_llh",
            23.029,
            110.685,
            "Change in 2LLH of 23.0 (50%) and 110.7 (90%) for skyscan's pandel_mpe, calibrated on 503"
            " simulated events (skyscan calibrate; 88% of 451 held-out events inside the 90% region)",
        ),
        "hpd": ThresholdSet(
            "hpd",
            "credible",
            0.5,
            0.9,
            "Highest posterior density 50% and 90% credible regions of p ~ exp(-Delta llh)",
        ),
    }
)


def threshold_set(name: str) -> ThresholdSet:
    """The threshold set called ``name`` (``wilks``, ``calibrated``, ``pandel_mpe`` or ``hpd``)."""
    try:
        return THRESHOLD_SETS[name]
    except (KeyError, TypeError):
        raise SkymapInputError(
            "", "thresholds", name, f"unknown threshold set; choose one of {', '.join(THRESHOLD_SETS)}"
        ) from None


@dataclass(frozen=True, slots=True)
class ScanMetadata:
    """Event metadata of a scan result; ``None`` where the source did not say.

    ``origin`` tells where the values came from (``result``, ``file name``, ``caller``...).
    """

    run_id: int | None = None
    event_id: int | None = None
    event_type: str | None = None
    mjd: float | None = None
    is_real_event: bool | None = None
    version: int = 0
    origin: str = "none"
    #: the algorithm that made the map, what it is (``reconstruction`` / ``approximation``) and the
    #: threshold set it declares for its regions (skyscan writes them; SkyDriver's results do not)
    reco_algo: str | None = None
    reco_kind: str | None = None
    region_method: str | None = None
    #: what people call the map (e.g. ``IceCube-220524A Rev 1``): the picture's title starts with it
    label: str | None = None

    def merged(self, other: ScanMetadata) -> ScanMetadata:
        """These values, with every ``None`` filled from ``other``."""

        def pick(mine: _T | None, theirs: _T | None) -> _T | None:
            return mine if mine is not None else theirs

        return ScanMetadata(
            run_id=pick(self.run_id, other.run_id),
            event_id=pick(self.event_id, other.event_id),
            event_type=pick(self.event_type, other.event_type),
            mjd=pick(self.mjd, other.mjd),
            is_real_event=pick(self.is_real_event, other.is_real_event),
            version=max(self.version, other.version),
            origin=self.origin if other.origin == "none" else f"{self.origin}+{other.origin}",
            reco_algo=pick(self.reco_algo, other.reco_algo),
            reco_kind=pick(self.reco_kind, other.reco_kind),
            region_method=pick(self.region_method, other.region_method),
            label=pick(self.label, other.label),
        )

    def to_dict(self) -> JSONObject:
        return {
            "run_id": self.run_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "mjd": self.mjd,
            "is_real_event": self.is_real_event,
            "version": self.version,
            "origin": self.origin,
            "reco_algo": self.reco_algo,
            "reco_kind": self.reco_kind,
            "region_method": self.region_method,
        }


@dataclass(frozen=True, eq=False, slots=True)
class NsideLayer:
    """All pixels of one nside, sorted by ``index`` (RING, current convention, unique)."""

    nside: int
    index: IntArray
    llh: FloatArray
    e_in: FloatArray
    e_tot: FloatArray
    #: fitted vertex (m) and time (ns); ``None`` for version-0 results
    x: FloatArray | None = None
    y: FloatArray | None = None
    z: FloatArray | None = None
    t: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.index.size)


@dataclass(frozen=True, eq=False, slots=True)
class ScanResult:
    """A scan result as read: one layer per nside, ascending, plus metadata and provenance."""

    layers: tuple[NsideLayer, ...]
    metadata: ScanMetadata
    source: str
    source_format: SourceFormat
    #: convention of the *source's* pixel indices (the layers here are always in the current one)
    pixel_convention: PixelConvention
    #: why that convention was chosen (format default or caller)
    convention_reason: str
    #: skyreader data version: 0 (index, llh, E_in, E_tot) or 1 (+ X, Y, Z, T)
    data_version: int
    #: the result's ``complete`` flag (None when the source does not say)
    complete: bool | None = None

    @property
    def nsides(self) -> tuple[int, ...]:
        return tuple(layer.nside for layer in self.layers)

    @property
    def n_pixels(self) -> int:
        return sum(len(layer) for layer in self.layers)

    def layer(self, nside: int) -> NsideLayer:
        for layer in self.layers:
            if layer.nside == nside:
                return layer
        raise SkymapInputError(self.source, "nside", nside, f"not in this result (nsides {self.nsides})")


def _num(value: float) -> float | None:
    """A float for JSON: ``None`` for NaN/inf (JSON has no NaN)."""
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class BestFit:
    """The minimum-llh pixel over all nsides; position of its centre (J2000 degrees)."""

    ra_deg: float
    dec_deg: float
    nside: int
    #: RING index in the current convention
    pixel: int
    llh: float

    def to_dict(self) -> JSONObject:
        return {
            "ra_deg": self.ra_deg,
            "dec_deg": self.dec_deg,
            "nside": self.nside,
            "pixel": self.pixel,
            "llh": self.llh,
        }


@dataclass(frozen=True, slots=True)
class ErrorBox:
    """Extent of a region around the best fit; all four are non-negative magnitudes in degrees.

    RA extents are plain RA degrees (not multiplied by cos Dec), measured across the 0/360 wrap.
    """

    ra_plus_deg: float
    ra_minus_deg: float
    dec_plus_deg: float
    dec_minus_deg: float

    def to_dict(self) -> dict[str, float]:
        return {
            "ra_plus_deg": self.ra_plus_deg,
            "ra_minus_deg": self.ra_minus_deg,
            "dec_plus_deg": self.dec_plus_deg,
            "dec_minus_deg": self.dec_minus_deg,
        }


@dataclass(frozen=True, eq=False, slots=True)
class Contour:
    """One closed boundary line of a region, for plots.

    ``ra_deg`` is continuous around the best fit (it may leave [0, 360) so that a line crossing
    RA 0 stays one line); take it modulo 360 for catalogue use.
    """

    ra_deg: FloatArray
    dec_deg: FloatArray

    def to_list(self, decimals: int = 4) -> list[list[float]]:
        pts = np.round(np.column_stack([self.ra_deg, self.dec_deg]), decimals)
        return [[float(a), float(b)] for a, b in pts]


@dataclass(frozen=True, eq=False, slots=True)
class Region:
    """A 50% or 90% region: the pixels with 2 * Delta llh <= ``two_delta_llh_level``."""

    #: name of the threshold set that defined the region (``wilks``, ``calibrated``, ``hpd``)
    threshold_set: str
    containment: float
    #: the 2 * Delta llh threshold applied (for ``hpd`` the one that reaches the credible level)
    two_delta_llh_level: float
    area_deg2: float
    #: number of pixels at the finest nside inside the region
    n_fine_pixels: int
    #: probability inside the region under p ~ exp(-Delta llh) normalised over the sphere
    probability: float
    box: ErrorBox
    contours: tuple[Contour, ...]

    def to_dict(self, with_contours: bool = True) -> JSONObject:
        out: JSONObject = {
            "threshold_set": self.threshold_set,
            "containment": self.containment,
            "two_delta_llh_level": _num(self.two_delta_llh_level),
            "area_deg2": self.area_deg2,
            "n_fine_pixels": self.n_fine_pixels,
            "probability": self.probability,
            "box": self.box.to_dict(),
        }
        if with_contours:
            out["contours"] = [c.to_list() for c in self.contours]
        return out
