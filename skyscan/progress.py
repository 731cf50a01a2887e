"""Scan progress as the Skymap Scanner reports it (the body of SkyDriver's ``PATCH /scan/{id}/manifest``).

The body is ``{"progress": ..., "event_metadata": ..., "scan_metadata": ...}`` with exactly the keys, key
order and value formats of IceCube's scanner (see the reference examples): human times are naive
local-time strings ``YYYY-MM-DD HH:MM:SS``, durations ``str(timedelta)`` of whole seconds, ``start`` and
``end`` epoch integers. A *reco* is one fit of one position variation of a pixel; a pixel is done when
all its variations are back.

The start report has only ``processing_stats.start["scanner start"]`` and ``runtime.elapsed`` (no
``rate``: SkyDriver then says ``IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO``); later reports add the
reco timings, the rates per nside and predictions; the final one replaces the predictions with
``end`` and ``finished: true``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scanner_client.models import EventMetadata
from skybase.json_types import JSONObject
from skyscan.pixels import NsideProgression
from skyscan.results import RESULT_VERSION

SUMMARY_STARTED = "The Skymap Scanner has started up."
SUMMARY_BUSY = "The Skymap Scanner is busy scanning pixels."
SUMMARY_FINISHED = "The Skymap Scanner has finished."
#: fractions of the predicted total at which ``est. scan timeline`` notes the elapsed time
TIMELINE_FRACTIONS: tuple[float, ...] = (
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.8,
    0.9,
    0.95,
    0.99,
    0.999,
    0.9999,
    0.99999,
    1.0,
)
TIMELINE_DECIMALS = 5
PREDICTION_WINDOW_MIN = 400
PREDICTION_WINDOW_RATIO = 0.25


def summary_sent(n_pixels: int) -> str:
    return f"The Skymap Scanner has sent out {n_pixels} pixels and is waiting to receive recos."


def epilogue(progress_interval_s: float, have_recos: bool) -> str:
    if not have_recos:
        return "I will report back when I start getting recos."
    shown = int(progress_interval_s) if float(progress_interval_s).is_integer() else progress_interval_s
    return f"I will report back again in {shown} seconds if I have an update."


def local_time(epoch: float) -> str:
    return str(dt.datetime.fromtimestamp(int(epoch)))


def duration(seconds: float) -> str:
    """Whole seconds as ``H:MM:SS``; negative spans (clock skew between machines) count as zero."""
    return str(dt.timedelta(seconds=int(max(seconds, 0.0))))


@dataclass
class RecoTimes:
    """Timings of the recos of one nside (or of all): worker runtimes and server round trips."""

    runtimes: list[float] = field(default_factory=list)
    roundtrips: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)  # kept sorted
    ends: list[float] = field(default_factory=list)  # kept sorted

    def add(self, runtime: float, start: float, end: float) -> None:
        self.runtimes.append(runtime)
        self.roundtrips.append(end - start)
        bisect.insort(self.starts, start)
        bisect.insort(self.ends, end)

    @property
    def count(self) -> int:
        return len(self.runtimes)

    def summary(self) -> dict[str, dict[str, str]]:
        first, last = self.starts[0], self.ends[-1]
        return {
            "worker time": _spread(self.runtimes),
            "round-trip time": _spread(self.roundtrips),
            "wall time": {
                "start": local_time(first),
                "end": local_time(last),
                "runtime": duration(last - first),
                "mean reco": duration((last - first) / self.count),
            },
        }


def _spread(values: list[float]) -> dict[str, str]:
    return {
        "mean": duration(statistics.fmean(values)),
        "median": duration(statistics.median(values)),
        "slowest": duration(max(values)),
        "fastest": duration(min(values)),
    }


@dataclass
class ProgressTracker:
    """Counts what a scan sent and got back, and renders the manifest PATCH body."""

    scan_id: str
    progression: NsideProgression
    event: EventMetadata
    position_variations: int = 1
    predictive_scanning_threshold: float = 1.0
    clock: Callable[[], float] = time.time
    start: float = field(default=0.0)
    finished: bool = False
    _sent: dict[int, int] = field(default_factory=dict)  # recos sent per nside
    _pixels_done: dict[int, int] = field(default_factory=dict)
    _times: dict[int, RecoTimes] = field(default_factory=dict)
    _all: RecoTimes = field(default_factory=RecoTimes)
    _first_worker_start: float | None = None

    def __post_init__(self) -> None:
        if self.position_variations < 1:
            raise ValueError(f"position_variations: must be >= 1, got {self.position_variations}")
        if not self.start:
            self.start = self.clock()

    # -- counting --------------------------------------------------------------------------------------
    def record_sent(self, nside: int, n_recos: int) -> None:
        self._sent[nside] = self._sent.get(nside, 0) + n_recos

    def record_reco(self, nside: int, runtime: float, roundtrip_start: float, roundtrip_end: float) -> None:
        if self._first_worker_start is None:
            # the first reco started about its runtime before it came back (queueing back is negligible)
            self._first_worker_start = roundtrip_end - runtime
        self._times.setdefault(nside, RecoTimes()).add(runtime, roundtrip_start, roundtrip_end)
        self._all.add(runtime, roundtrip_start, roundtrip_end)

    def record_pixel_done(self, nside: int) -> None:
        self._pixels_done[nside] = self._pixels_done.get(nside, 0) + 1

    @property
    def recos_done(self) -> int:
        return self._all.count

    def recos_done_at(self, nside: int) -> int:
        times = self._times.get(nside)
        return times.count if times else 0

    # -- rendering ------------------------------------------------------------------------------------
    def estimated_recos(self) -> dict[int, int]:
        return {n: p * self.position_variations for n, p in self.progression.estimated_pixels().items()}

    def predicted_total_recos(self) -> int:
        nsides = self.progression.nsides
        if self.finished:
            return sum(self._sent.get(n, 0) for n in nsides)
        estimates = self.estimated_recos()
        with_sent = sum(self._sent.get(n, estimates[n]) for n in nsides)
        return max(with_sent, sum(estimates.values()))

    def body(self, summary: str, epilogue_text: str = "") -> JSONObject:
        """The PATCH body: ``progress``, ``event_metadata`` and ``scan_metadata``."""
        now = self.clock()
        progress = {
            "summary": summary,
            "epilogue": epilogue_text,
            "tallies": self._tallies(),
            "processing_stats": self._processing_stats(now),
            "predictive_scanning_threshold": self.predictive_scanning_threshold,
            "last_updated": local_time(now),
            "start": int(self.start),
            "end": int(now) if self.finished else None,
        }
        return {
            "progress": progress,
            "event_metadata": {**self.event.model_dump(), "version": RESULT_VERSION},
            "scan_metadata": {
                "scan_id": self.scan_id,
                "nside_progression": self.progression.as_json(),
                "position_variations": self.position_variations,
            },
        }

    def _tally(self, recos_done: int, recos_sent: int, recos_estimate: int, pixels_done: int) -> JSONObject:
        pixels_sent = recos_sent / self.position_variations
        return {
            "recos": {
                "done": recos_done,
                "done est. percent": f"{recos_done}/{recos_sent} ({recos_done / recos_sent:.2f})"
                if recos_sent
                else "N/A",
                "generated": recos_sent,
                "initial approximation total": recos_estimate,
            },
            "pixels": {
                "done": pixels_done,
                "done est. percent": (
                    f"{pixels_done}/{pixels_sent} ({pixels_done / pixels_sent:.2f})" if recos_sent else "N/A"
                ),
                "generated": pixels_sent,
                "initial approximation total": recos_estimate / self.position_variations,
            },
        }

    def _tallies(self) -> JSONObject:
        estimates = self.estimated_recos()
        nsides = self.progression.nsides
        by_nside = {
            str(n): self._tally(
                self.recos_done_at(n), self._sent.get(n, 0), estimates[n], self._pixels_done.get(n, 0)
            )
            for n in nsides
        }
        overall = self._tally(
            self.recos_done,
            sum(self._sent.get(n, 0) for n in nsides),
            sum(estimates.values()),
            sum(self._pixels_done.get(n, 0) for n in nsides),
        )
        return {"nsides": by_nside, "overall": overall, "est. scan timeline": self._timeline()}

    def _timeline(self) -> dict[str, str]:
        total = self.predicted_total_recos()
        ends = self._all.ends
        timeline: dict[str, str] = {}
        marks = [(f"{1 / total:.{TIMELINE_DECIMALS}f}", 0)]
        marks += [(str(fraction), math.ceil(total * fraction) - 1) for fraction in TIMELINE_FRACTIONS]
        for name, position in marks:
            if 0 <= position < len(ends):
                timeline[name] = duration(ends[position] - self.start)
        return timeline

    def _window(self) -> int:
        return max(int(self.recos_done * PREDICTION_WINDOW_RATIO), PREDICTION_WINDOW_MIN)

    def _technique(self) -> str:
        window = self._window()
        if window == PREDICTION_WINDOW_MIN:
            after = int(PREDICTION_WINDOW_MIN / PREDICTION_WINDOW_RATIO)
            return (
                f"simple average over entire scan runtime (a moving average with a window of "
                f"{PREDICTION_WINDOW_RATIO} will be used after {after} recos have finished)"
            )
        return f"simple moving average (window={window})"

    def _seconds_per_reco(self) -> float:
        """Recent server-side seconds per reco, over a moving window of the latest starts."""
        window = self._window()
        starts = self._all.starts
        if len(starts) >= window:
            return (self._all.ends[-1] - starts[-window]) / window
        return (self._all.ends[-1] - starts[0]) / len(starts)

    def _processing_stats(self, now: float) -> JSONObject:
        stats: JSONObject = {
            "start": {"scanner start": local_time(self.start)},
            "runtime": {"elapsed": duration(now - self.start)},
        }
        if not self.recos_done:
            return stats
        first_start = self._all.starts[0]
        first_worker = self._first_worker_start if self._first_worker_start is not None else first_start
        startup = first_start - self.start
        on_server = now - first_start
        stats["start"]["reco start (on server)"] = local_time(first_start)
        stats["start"]["reco start (on first worker)"] = local_time(first_worker)
        stats["runtime"]["startup runtime"] = duration(startup)
        stats["runtime"]["reco runtime (on server)"] = duration(on_server)
        stats["runtime"]["reco start delay (on first worker)"] = duration(first_worker - first_start)
        rate: JSONObject = {"all recos": self._all.summary()}
        for nside in sorted(self._times):
            rate[f"nside-{nside}"] = self._times[nside].summary()
        stats["rate"] = rate
        if self.finished:
            stats["end"] = local_time(now)
            stats["finished"] = True
            return stats
        total = self.predicted_total_recos()
        time_left = self._seconds_per_reco() * (total - self.recos_done)
        stats["predictions"] = {
            "time left": duration(time_left),
            "total runtime at finish": duration(startup + on_server + time_left),
            "total # of reconstructions": total,
            "end": local_time(now + time_left),
            "technique": self._technique(),
        }
        return stats
