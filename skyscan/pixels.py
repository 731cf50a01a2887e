"""HEALPix refinement: which sky pixels a scan fits, in which order (the Skymap Scanner's algorithm).

A scan is described by an nside progression, e.g. ``8:0 64:12 512:24``:

1. the first round is every pixel of the first nside (12 * 8**2 = 768);
2. to refine from nside N_i to N_{i+1} with pixel extension e_{i+1}: find the global best pixel (lowest
   finite llh over all nsides), take the pixels at N_i whose centres lie within
   sqrt(e_{i+1} * pixel_area(N_i) / pi) of its centre (about e_{i+1} of them), split each into its
   (N_{i+1}/N_i)**2 NESTED children, and drop the children already sent;
3. predictive scanning: each nside but the last has the thresholds [t, then the 0.1 steps above t, ..., 1.0]
   (t = ``predictive_scanning_threshold``); the last nside has [1.0]. Whenever an nside's fraction of
   pixels back crosses a new threshold, the refinement is re-run for every nside up to the next one after
   the highest nside that crossed (the best pixel may have moved);
4. the scan is done when such a re-run generates nothing new and every sent pixel is back.

Pixel ids are HEALPix RING indices (skyreader's ``index``); directions are J2000 with
Dec = 90 deg - theta, RA = phi. Everything that touches many pixels is vectorised with healpy/numpy.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import healpy as hp
import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: (nside, RING index)
Pixel = tuple[int, int]

PREDICTIVE_THRESHOLD_MIN = 0.1  # exclusive
PREDICTIVE_THRESHOLD_MAX = 1.0  # inclusive
#: the thresholds every non-final nside passes through above ``predictive_scanning_threshold``
BASE_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MAX_NSIDE = 2**29  # HEALPix's limit for 64-bit indices


class ProgressionError(ValueError):
    """An nside progression or predictive-scanning threshold that the scanner cannot use."""


@dataclass(frozen=True)
class NsideProgression:
    """The validated ``(nside, pixel_extension)`` steps of a scan."""

    steps: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise ProgressionError("nsides: empty; give at least the first nside, e.g. 8:0")
        previous = 0
        for position, (nside, extension) in enumerate(self.steps):
            where = f"nsides[{position}]"
            if isinstance(nside, bool) or not isinstance(nside, int) or nside < 1 or nside & (nside - 1):
                raise ProgressionError(f"{where}: nside must be a power of two, got {nside!r}")
            if nside > MAX_NSIDE:
                raise ProgressionError(f"{where}: nside must be <= {MAX_NSIDE}, got {nside}")
            if nside <= previous:
                raise ProgressionError(f"{where}: nsides must increase, got {nside} after {previous}")
            if isinstance(extension, bool) or not isinstance(extension, int):
                raise ProgressionError(f"{where}: pixel extension must be an integer, got {extension!r}")
            if position == 0 and extension != 0:
                raise ProgressionError(
                    f"{where}: the first nside's pixel extension must be 0, got {extension}"
                )
            if position > 0 and extension < 1:
                raise ProgressionError(f"{where}: pixel extension must be positive, got {extension}")
            previous = nside

    @classmethod
    def parse(cls, text: str) -> NsideProgression:
        """``"8:0,64:12,512:24"`` (commas or spaces) as a progression."""
        steps: list[tuple[int, int]] = []
        for token in (t for t in re.split(r"[,\s]+", text.strip()) if t):
            match = re.fullmatch(r"(\d+):(\d+)", token)
            if match is None:
                raise ProgressionError(f"nsides: {token!r} is not NSIDE:EXTENSION (e.g. 64:12) in {text!r}")
            steps.append((int(match.group(1)), int(match.group(2))))
        return cls(tuple(steps))

    @property
    def nsides(self) -> tuple[int, ...]:
        return tuple(nside for nside, _ in self.steps)

    def estimated_pixels(self) -> dict[int, int]:
        """The scanner's a-priori pixel counts: 12*N0**2, then e_i * (N_i / N_{i-1})**2."""
        estimates = {self.steps[0][0]: 12 * self.steps[0][0] ** 2}
        for (coarse, _), (fine, extension) in zip(self.steps, self.steps[1:], strict=False):
            estimates[fine] = extension * (fine // coarse) ** 2
        return estimates

    def as_json(self) -> dict[str, int]:
        """``{"8": 0, "64": 12, "512": 24}``, as in ``scan_metadata.nside_progression``."""
        return {str(nside): extension for nside, extension in self.steps}

    def __str__(self) -> str:
        return ",".join(f"{nside}:{extension}" for nside, extension in self.steps)


def check_predictive_threshold(threshold: float) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (PREDICTIVE_THRESHOLD_MIN < threshold <= PREDICTIVE_THRESHOLD_MAX)
    ):
        raise ProgressionError(
            "predictive_scanning_threshold: must be in "
            f"({PREDICTIVE_THRESHOLD_MIN}, {PREDICTIVE_THRESHOLD_MAX}], got {threshold!r}"
        )
    return float(threshold)


def threshold_series(progression: NsideProgression, threshold: float) -> dict[int, tuple[float, ...]]:
    """Per nside, the fractions at which a new refinement round is started."""
    threshold = check_predictive_threshold(threshold)
    series = (threshold, *BASE_THRESHOLDS[bisect.bisect(BASE_THRESHOLDS, threshold) :])
    by_nside = {nside: series for nside in progression.nsides}
    by_nside[progression.nsides[-1]] = (1.0,)  # the finest nside must be complete
    return by_nside


def pixel_directions(nside: int, indices: IntArray | Iterable[int]) -> tuple[FloatArray, FloatArray]:
    """(RA, Dec) in radians, J2000, of RING pixel centres."""
    theta, phi = hp.pix2ang(nside, np.asarray(indices, dtype=np.int64))
    return np.asarray(phi, dtype=np.float64), np.pi / 2.0 - np.asarray(theta, dtype=np.float64)


def nested_children(nside: int, indices: IntArray | Iterable[int], child_nside: int) -> IntArray:
    """RING indices at ``child_nside`` of the NESTED sub-pixels of RING ``indices`` at ``nside``."""
    ratio = child_nside // nside
    if child_nside % nside or ratio & (ratio - 1) or ratio < 1:
        raise ProgressionError(f"child_nside: {child_nside} is not a power-of-two multiple of nside {nside}")
    shift = 2 * int(math.log2(ratio))
    nested = np.asarray(hp.ring2nest(nside, np.asarray(indices, dtype=np.int64)), dtype=np.int64)
    children = (nested[:, None] << shift) + np.arange(ratio * ratio, dtype=np.int64)[None, :]
    return np.asarray(hp.nest2ring(child_nside, children.ravel()), dtype=np.int64)


def parent_pixels(nside: int, indices: IntArray | Iterable[int], parent_nside: int) -> IntArray:
    """RING indices at ``parent_nside`` of the pixels containing RING ``indices`` at ``nside``."""
    ratio = nside // parent_nside
    if nside % parent_nside or ratio & (ratio - 1) or ratio < 1:
        raise ProgressionError(
            f"parent_nside: {parent_nside} does not divide nside {nside} by a power of two"
        )
    shift = 2 * int(math.log2(ratio))
    nested = np.asarray(hp.ring2nest(nside, np.asarray(indices, dtype=np.int64)), dtype=np.int64)
    return np.asarray(hp.nest2ring(parent_nside, nested >> shift), dtype=np.int64)


def pixels_around(nside: int, centre: FloatArray, extension: int) -> IntArray:
    """RING pixels at ``nside`` whose centres lie within sqrt(extension * pixel_area / pi) of ``centre``,
    nearest first."""
    radius = math.sqrt(extension * hp.nside2pixarea(nside) / math.pi)
    found = np.asarray(hp.query_disc(nside, centre, radius, inclusive=False), dtype=np.int64)
    if found.size == 0:
        return found
    vectors = np.asarray(hp.pix2vec(nside, found), dtype=np.float64).T
    return found[np.argsort(-(vectors @ centre), kind="stable")]


class RefinementState(enum.Enum):
    NOT_STARTED = "not started"
    SCANNING = "scanning"
    DONE = "done"


_TRANSITIONS: dict[RefinementState, frozenset[RefinementState]] = {
    RefinementState.NOT_STARTED: frozenset({RefinementState.SCANNING}),
    RefinementState.SCANNING: frozenset({RefinementState.DONE}),
    RefinementState.DONE: frozenset(),
}


class RefinementError(RuntimeError):
    """A result for a pixel that was never sent, or a call out of order."""


@dataclass
class _Best:
    llh: float = math.inf
    pixel: Pixel | None = None


@dataclass
class Refinement:
    """The pixel bookkeeping of one scan: what was sent, what came back, what to send next.

    Call :meth:`start` once, then for every pixel result :meth:`add`, and after each batch of results
    :meth:`advance`, which returns the next pixels to send (often none). :attr:`state` is DONE once the
    scan is complete.
    """

    progression: NsideProgression
    predictive_scanning_threshold: float = 1.0
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    state: RefinementState = RefinementState.NOT_STARTED
    sent: dict[int, set[int]] = field(init=False)
    llh: dict[int, dict[int, float]] = field(init=False)
    _thresholds: dict[int, tuple[float, ...]] = field(init=False)
    _fraction_seen: dict[int, float] = field(init=False)
    _best: _Best = field(init=False, default_factory=_Best)

    def __post_init__(self) -> None:
        self._thresholds = threshold_series(self.progression, self.predictive_scanning_threshold)
        self.sent = {nside: set() for nside in self.progression.nsides}
        self.llh = {nside: {} for nside in self.progression.nsides}
        self._fraction_seen = {nside: 0.0 for nside in self.progression.nsides}

    # -- state ---------------------------------------------------------------------------------------
    def _move(self, target: RefinementState) -> None:
        if target not in _TRANSITIONS[self.state]:
            raise RefinementError(f"refinement: cannot go from {self.state.value} to {target.value}")
        self.state = target

    @property
    def done(self) -> bool:
        return self.state is RefinementState.DONE

    @property
    def n_sent(self) -> int:
        return sum(len(s) for s in self.sent.values())

    @property
    def n_done(self) -> int:
        return sum(len(d) for d in self.llh.values())

    @property
    def best(self) -> Pixel | None:
        """The pixel with the lowest finite llh so far (NaN fits never win)."""
        return self._best.pixel

    # -- the cycle -----------------------------------------------------------------------------------
    def start(self) -> list[Pixel]:
        """The first round: every pixel of the first nside, in random order."""
        self._move(RefinementState.SCANNING)
        first = self.progression.nsides[0]
        return self._send(first, np.arange(12 * first * first, dtype=np.int64))

    def add(self, nside: int, index: int, llh: float) -> bool:
        """Record a pixel's llh; False (and nothing recorded) if that pixel is already back."""
        if self.state is not RefinementState.SCANNING:
            raise RefinementError(
                f"refinement: result for nside {nside} pixel {index} while {self.state.value}"
            )
        if index not in self.sent.get(nside, ()):
            raise RefinementError(f"refinement: result for nside {nside} pixel {index}, which was never sent")
        done = self.llh[nside]
        if index in done:
            return False
        done[index] = llh
        if llh < self._best.llh:  # False for NaN
            self._best = _Best(llh, (nside, index))
        return True

    def advance(self) -> list[Pixel]:
        """After a batch of results: the pixels to send next (empty if none); marks the scan DONE when
        a refinement round finds nothing new and everything sent is back."""
        if self.state is not RefinementState.SCANNING:
            return []
        crossed = self._newly_crossed()
        if crossed is None:
            return []
        all_back = self.n_done == self.n_sent
        new = self._refine(up_to=crossed)
        if not new and all_back:
            self._move(RefinementState.DONE)
        return new

    # -- internals -----------------------------------------------------------------------------------
    def _fraction(self, nside: int) -> float:
        return len(self.llh[nside]) / len(self.sent[nside]) if self.sent[nside] else 0.0

    def _bin(self, nside: int, fraction: float) -> float:
        series = self._thresholds[nside]
        position = bisect.bisect(series, fraction)
        return series[position - 1] if position else 0.0

    def _newly_crossed(self) -> int | None:
        """The highest nside whose fraction back reached a new threshold since the last look."""
        crossed = None
        for nside in self.progression.nsides:
            fraction = self._fraction(nside)
            if self.sent[nside] and self._bin(nside, fraction) > self._bin(nside, self._fraction_seen[nside]):
                crossed = nside
            self._fraction_seen[nside] = fraction
        return crossed

    def _refine(self, up_to: int) -> list[Pixel]:
        if self._best.pixel is None:
            return []
        best_nside, best_index = self._best.pixel
        centre = np.asarray(hp.pix2vec(best_nside, best_index), dtype=np.float64)
        steps = self.progression.steps
        last = min(self.progression.nsides.index(up_to) + 1, len(steps) - 1)
        new: list[Pixel] = []
        for (coarse, _), (fine, extension) in itertools.pairwise(steps[: last + 1]):
            parents = pixels_around(coarse, centre, extension)
            children = nested_children(coarse, parents, fine)
            new.extend(self._send(fine, children))
        return new

    def _send(self, nside: int, candidates: IntArray) -> list[Pixel]:
        already = self.sent[nside]
        fresh = np.unique(candidates)
        if already:
            fresh = fresh[~np.isin(fresh, np.fromiter(already, dtype=np.int64, count=len(already)))]
        self.rng.shuffle(fresh)
        already.update(fresh.tolist())
        self._fraction_seen[nside] = self._fraction(nside)  # the fraction back drops as pixels are added
        return [(nside, int(index)) for index in fresh]
