"""The interface every reconstruction algorithm implements: one fit per sky pixel.

A scan runs a reco in two places. On the scan server, once per scan, :meth:`Reco.prepare` reads the event
and the algorithm's options and returns a small JSON-able *setup* (never the whole event: it travels with
every pixel task). On a pixel worker, :meth:`Reco.from_setup` rebuilds the algorithm from that setup and
:meth:`Reco.fit` fits one pixel: the direction is fixed to the pixel's centre (J2000) and the rest of the
hypothesis (vertex, time, energy) is fitted or left unknown (NaN).

Ready for the scanner's full model: each pixel is fitted :attr:`Reco.position_variations` times (one task
each, ``PixelSeed.posvar``), the seed vertex of a refined pixel comes from the fit of its coarser parent
(``PixelSeed.vertex``), and the per-pixel time limit is enforced by the worker harness, which abandons a
fit that runs too long and has the task redelivered (``PixelSeed.delivery`` counts deliveries).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from skybase.event import RealtimeEvent

NAN = math.nan

#: JSON-able values only (str, int, float, bool, None, lists and dicts of them)
Setup = dict[str, Any]

#: ``reconstruction``: a fit of the event's detector data, whose map may be published as refined;
#: ``approximation``: anything else (a stand-in built from the online fit, random values): its products
#: are held for a human and never called refined
RecoKind = Literal["reconstruction", "approximation"]
RECO_KINDS: tuple[RecoKind, ...] = ("reconstruction", "approximation")


class RecoOptionError(ValueError):
    """An option given to a reco algorithm is unknown or has an unusable value."""


@dataclass(frozen=True)
class Vertex:
    """A fitted or seed interaction vertex: position (m, detector coordinates) and time (ns)."""

    x: float
    y: float
    z: float
    t: float


@dataclass(frozen=True)
class PixelSeed:
    """What a fit starts from: the pixel and its direction, the variation, the seed vertex."""

    nside: int
    index: int  # HEALPix RING index at ``nside``
    ra: float  # J2000 right ascension of the pixel centre, radians
    dec: float  # J2000 declination of the pixel centre, radians (Dec = 90 deg - theta)
    posvar: int = 0  # which position variation of the seed vertex, 0 <= posvar < Reco.position_variations
    vertex: Vertex | None = None  # the coarser parent pixel's fitted vertex, None for the first nside
    delivery: int = 1  # 1 for the first delivery of this task, more after a redelivery
    scan_id: str = ""  # the scan the pixel belongs to (empty outside a scan)


@dataclass(frozen=True)
class PixelFit:
    """The fit of one pixel: llh = -ln L (lower is better) and the fitted quantities, NaN where unknown."""

    llh: float
    E_in: float = NAN  # energy deposited inside the detector, GeV
    E_tot: float = NAN  # total energy, GeV
    X: float = NAN  # vertex, m
    Y: float = NAN
    Z: float = NAN
    T: float = NAN  # vertex time, ns

    def as_list(self) -> list[float]:
        """``[llh, E_in, E_tot, X, Y, Z, T]``: the order of skyreader's v1 columns after ``index``."""
        return [self.llh, self.E_in, self.E_tot, self.X, self.Y, self.Z, self.T]

    @classmethod
    def from_list(cls, values: list[float]) -> PixelFit:
        if len(values) != 7:
            raise ValueError(f"fit: expected 7 values [llh, E_in, E_tot, X, Y, Z, T], got {values!r}")
        return cls(*(float(v) for v in values))

    def vertex(self) -> Vertex | None:
        """The fitted vertex, or None when the fit has none (a NaN coordinate)."""
        coords = (self.X, self.Y, self.Z, self.T)
        if any(math.isnan(c) for c in coords):
            return None
        return Vertex(*coords)


class Reco(ABC):
    """A reconstruction algorithm, fitted pixel by pixel."""

    #: registry name, as in ``reco_algo``
    name: ClassVar[str]
    #: one sentence for people: what this algorithm is (shown in ``--help`` and the result's metadata)
    description: ClassVar[str]
    #: what the algorithm is (written into the result's metadata as ``reco_kind``); an algorithm that does
    #: not say is an approximation, so nothing it makes is published automatically
    kind: ClassVar[RecoKind] = "approximation"
    #: how its 50% / 90% regions are drawn from its llh (a threshold set: ``wilks``, ``calibrated``,
    #: ``hpd``; written into the metadata as ``region_method``): ``calibrated`` only for llhs like the
    #: real scans IceCube's thresholds were calibrated on
    region_method: ClassVar[str] = "wilks"

    @classmethod
    @abstractmethod
    def prepare(cls, event: RealtimeEvent, options: Mapping[str, Any]) -> Setup:
        """Server side, once per scan: validate ``options`` and extract what the workers need."""

    @classmethod
    @abstractmethod
    def from_setup(cls, setup: Mapping[str, Any]) -> Reco:
        """Worker side: rebuild the algorithm from what :meth:`prepare` returned."""

    @property
    def position_variations(self) -> int:
        """How many seed-vertex variations each pixel is fitted with (the best one is kept)."""
        return 1

    @abstractmethod
    def fit(self, seed: PixelSeed) -> PixelFit:
        """Fit one pixel (blocking); raise on a failed fit, return NaN llh for a fit that did not converge."""


def reject_unknown_options(algo: str, options: Mapping[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise RecoOptionError(
            f"reco_options: {unknown} not understood by {algo!r} (its options: {', '.join(known) or 'none'})"
        )


def float_option(
    algo: str, options: Mapping[str, Any], key: str, default: float, *, minimum: float = 0.0
) -> float:
    raw = options.get(key, default)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw < minimum:
        raise RecoOptionError(
            f"reco_options.{key} of {algo!r}: expected a number >= {minimum:g}, got {raw!r}"
        )
    return float(raw)


def int_option(algo: str, options: Mapping[str, Any], key: str, default: int | None) -> int | None:
    raw = options.get(key, default)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise RecoOptionError(f"reco_options.{key} of {algo!r}: expected a non-negative integer, got {raw!r}")
    return raw
