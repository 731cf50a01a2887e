"""Running one scan: refinement, pixel workers, progress and results, start to finish.

:func:`run_scan` is what ``skyscan serve`` (one thread per scan) and ``skyscan scan`` call. It

1. reads and checks the request (event, reco algorithm and its options, nsides, threshold);
2. tells the observer the scan has started (the manifest PATCH body IceCube's scanner sends);
3. sends the first nside's pixels to the pool, collects outcomes, keeps each pixel's best position
   variation, feeds the refinement (:mod:`skyscan.pixels`) and sends the pixels it asks for next, until it
   says the scan is done;
4. on the way, PATCHes progress (after each batch sent, on the first reco of each nside and every
   ``progress_interval_s``) and PUTs the partial result every ``result_interval_s``;
5. at the end PUTs the final result, then PATCHes the final progress (IceCube's order), and returns it.

Failures: a pixel whose fit times out or raises ``max_pixel_attempts`` times, no outcome at all for
``stall_timeout_s`` (IceCube's scanner gives up after 2 h without results), an unusable request, or any
error inside raise :class:`ScanFailed` with the reason; ``cancel`` raises :class:`ScanCancelled`. A
non-final report the observer fails to take is logged and skipped; a final one fails the scan.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scanner_client.models import EventMetadata
from skybase.event import RealtimeEvent
from skybase.i3.legacy_message import current_form
from skybase.json_types import JSONObject, JSONValue
from skybase.states import checked
from skyscan.pixels import (
    NsideProgression,
    Pixel,
    Refinement,
    check_predictive_threshold,
    parent_pixels,
    pixel_directions,
)
from skyscan.progress import (
    SUMMARY_BUSY,
    SUMMARY_FINISHED,
    SUMMARY_STARTED,
    ProgressTracker,
    epilogue,
    summary_sent,
)
from skyscan.recos import PixelFit, Vertex, get_reco
from skyscan.results import build_result
from skyscan.workers.messages import OutcomeKind, PixelOutcome, PixelTask
from skyscan.workers.pool import PixelPool, ScanChannel

LOG = logging.getLogger(__name__)
_COLLECT_WAIT_S = 0.2
DEFAULT_STALL_TIMEOUT_S = 7200.0
DEFAULT_MAX_PIXEL_ATTEMPTS = 3

TaskKey = tuple[int, int, int]  # (nside, pixel, posvar)


@dataclass(frozen=True)
class ScanRequest:
    scan_id: str
    event: Mapping[str, JSONValue]  # the i3live realtime message (top-level object)
    reco_algo: str  # "dummy" | "online_gaussian" (registry lookup)
    nsides: tuple[tuple[int, int], ...]  # e.g. ((8, 0), (64, 12), (512, 24))
    is_real_event: bool = True
    max_pixel_reco_time: float | None = None  # seconds per pixel; exceeded -> task abandoned & redelivered
    predictive_scanning_threshold: float = 1.0
    reco_options: Mapping[str, JSONValue] = field(
        default_factory=dict
    )  # per algorithm, e.g. {"delay_s": 0.01}


class ScanObserver(Protocol):
    def manifest_patch(self, body: JSONObject) -> None:
        """Exactly the JSON body IceCube's scanner PATCHes to /scan/{id}/manifest."""
        ...

    def result(self, skyscan_result: JSONObject, is_final: bool) -> None:
        """Exactly the body of PUT /scan/{id}/result: partial ones, then the final one once."""
        ...


class ScanCancelled(Exception):  # noqa: N818 - the name is the interface
    """The scan's ``cancel`` event was set; it stopped without a final result."""


class ScanFailed(Exception):  # noqa: N818 - the name is the interface
    """The scan cannot finish; ``reason`` says why, naming the field or pixel concerned."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScanPhase(enum.Enum):
    CHECKING = "checking the request"
    SCANNING = "scanning"
    FINISHING = "reporting the final result"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"


_TRANSITIONS: dict[ScanPhase, frozenset[ScanPhase]] = {
    ScanPhase.CHECKING: frozenset({ScanPhase.SCANNING, ScanPhase.FAILED, ScanPhase.CANCELLED}),
    ScanPhase.SCANNING: frozenset({ScanPhase.FINISHING, ScanPhase.FAILED, ScanPhase.CANCELLED}),
    ScanPhase.FINISHING: frozenset({ScanPhase.FINISHED, ScanPhase.FAILED}),
    ScanPhase.FINISHED: frozenset(),
    ScanPhase.CANCELLED: frozenset(),
    ScanPhase.FAILED: frozenset(),
}


def event_metadata(event: Mapping[str, JSONValue], *, is_real_event: bool = True) -> JSONObject:
    """``{run_id, event_id, event_type, mjd, is_real_event}`` of an i3live message (SkyDriver's
    ``manifest.event_metadata``); raises :class:`skybase.event.EventFormatError` naming a bad field."""
    return _metadata(RealtimeEvent.read(current_form(event)), is_real_event).model_dump()


def _metadata(event: RealtimeEvent, is_real_event: bool) -> EventMetadata:
    return EventMetadata(
        run_id=event.run_id,
        event_id=event.event_id,
        event_type=event.event_type,
        mjd=event.mjd,
        is_real_event=is_real_event,
    )


@dataclass
class PixelCollector:
    """Keeps, per pixel, the best of its position variations (lowest llh; NaN only if all are NaN)."""

    position_variations: int
    fits: dict[int, dict[int, PixelFit]]
    _variations: dict[Pixel, dict[int, PixelFit]] = field(default_factory=dict)
    _received: set[TaskKey] = field(default_factory=set)

    def seen(self, key: TaskKey) -> bool:
        return key in self._received

    def add(self, key: TaskKey, fit: PixelFit) -> PixelFit | None:
        """Record one variation's fit; the pixel's final fit once all its variations are in."""
        self._received.add(key)
        nside, index, posvar = key
        variations = self._variations.setdefault((nside, index), {})
        variations[posvar] = fit
        if len(variations) < self.position_variations:
            return None
        del self._variations[(nside, index)]
        finite = [f for f in variations.values() if not math.isnan(f.llh)]
        best = min(finite, key=lambda f: f.llh) if finite else variations[min(variations)]
        self.fits[nside][index] = best
        return best


class _Scan:
    """The state of one running scan (used by :func:`run_scan` only)."""

    def __init__(self, request: ScanRequest, observer: ScanObserver, max_pixel_attempts: int) -> None:
        self.phase = ScanPhase.CHECKING
        self.request = request
        self.observer = observer
        self.max_pixel_attempts = max_pixel_attempts
        try:
            self.progression = NsideProgression(tuple((int(n), int(e)) for n, e in request.nsides))
            threshold = check_predictive_threshold(request.predictive_scanning_threshold)
            self.timeout_s = _check_time_limit(request.max_pixel_reco_time)
            event = RealtimeEvent.read(current_form(request.event))  # legacy messages: from their frames
            reco = get_reco(request.reco_algo)
            self.reco = reco
            self.setup = reco.prepare(event, request.reco_options)
            variations = reco.from_setup(self.setup).position_variations
        except (ValueError, LookupError, TypeError) as exc:
            self._move(ScanPhase.FAILED)
            raise ScanFailed(str(exc)) from exc
        self.metadata = _metadata(event, request.is_real_event)
        self.refinement = Refinement(self.progression, threshold)
        self.collector = PixelCollector(variations, {n: {} for n in self.progression.nsides})
        self.tracker = ProgressTracker(
            request.scan_id, self.progression, self.metadata, variations, threshold, clock=time.time
        )
        self.tasks: dict[TaskKey, PixelTask] = {}
        self.failures: dict[TaskKey, int] = {}
        self.duplicates = 0

    def _move(self, target: ScanPhase) -> None:
        checked(_TRANSITIONS, self.phase, target, f"scan {self.request.scan_id}")
        LOG.debug("scan %s: %s -> %s", self.request.scan_id, self.phase.value, target.value)
        self.phase = target

    # -- reporting ------------------------------------------------------------------------------------
    def _report(self, call: Callable[[], None], what: str, *, final: bool = False) -> None:
        try:
            call()
        except ScanCancelled:
            raise
        except Exception as exc:
            if final:
                raise ScanFailed(
                    f"observer: could not take the final {what}: {type(exc).__name__}: {exc}"
                ) from exc
            LOG.warning("scan %s: observer could not take a %s: %s", self.request.scan_id, what, exc)

    def _patch(self, summary: str, epilogue_text: str, *, final: bool = False) -> None:
        body = self.tracker.body(summary, epilogue_text)
        self._report(lambda: self.observer.manifest_patch(body), "progress", final=final)

    def _result(self, *, final: bool) -> JSONObject:
        result = build_result(
            self.collector.fits,
            self.metadata,
            complete=final,
            reco_algo=self.request.reco_algo,
            reco_kind=self.reco.kind,
            region_method=self.reco.region_method,
        )
        if result or final:
            self._report(lambda: self.observer.result(result, final), "result", final=final)
        return result

    # -- the scan -------------------------------------------------------------------------------------
    def run(
        self,
        channel: ScanChannel,
        cancel: threading.Event,
        progress_interval_s: float,
        result_interval_s: float,
        stall_timeout_s: float,
    ) -> JSONObject:
        self._move(ScanPhase.SCANNING)
        self._patch(SUMMARY_STARTED, "")
        self._send(channel, self.refinement.start(), progress_interval_s)
        last_outcome = last_progress = last_result = time.monotonic()
        while not self.refinement.done:
            if cancel.is_set():
                self._move(ScanPhase.CANCELLED)
                raise ScanCancelled(f"scan {self.request.scan_id}: cancelled")
            outcomes = channel.collect(_COLLECT_WAIT_S)
            now = time.monotonic()
            if outcomes:
                last_outcome = now
                first_of_nside = any([self._take(channel, outcome) for outcome in outcomes])  # take them all
                new = self.refinement.advance()
                if new:
                    self._send(channel, new, progress_interval_s)
                    last_progress = now
                elif first_of_nside:
                    self._patch(SUMMARY_BUSY, epilogue(progress_interval_s, True))
                    last_progress = now
            elif now - last_outcome > stall_timeout_s:
                raise ScanFailed(
                    f"stall_timeout_s: no pixel outcome for {stall_timeout_s:g} s with "
                    f"{self.refinement.n_sent - self.refinement.n_done} pixels outstanding "
                    "(are workers running?)"
                )
            if now - last_progress >= progress_interval_s and not self.refinement.done:
                self._patch(SUMMARY_BUSY, epilogue(progress_interval_s, self.tracker.recos_done > 0))
                last_progress = now
            if now - last_result >= result_interval_s and not self.refinement.done:
                self._result(final=False)
                last_result = now
        self._move(ScanPhase.FINISHING)
        self.tracker.finished = True
        final = self._result(final=True)
        self._patch(SUMMARY_FINISHED, "", final=True)
        self._move(ScanPhase.FINISHED)
        if self.duplicates:
            LOG.info("scan %s: ignored %d duplicate outcomes", self.request.scan_id, self.duplicates)
        return final

    def _send(self, channel: ScanChannel, pixels: Sequence[Pixel], progress_interval_s: float) -> None:
        tasks = self._tasks_for(pixels)
        channel.submit(tasks)
        self.tasks.update((task.key, task) for task in tasks)
        for nside, count in Counter(task.nside for task in tasks).items():
            self.tracker.record_sent(nside, count)
        self._patch(summary_sent(len(pixels)), epilogue(progress_interval_s, self.tracker.recos_done > 0))

    def _tasks_for(self, pixels: Sequence[Pixel]) -> list[PixelTask]:
        sent_at = time.time()
        tasks: list[PixelTask] = []
        nsides = self.progression.nsides
        for nside in sorted({n for n, _ in pixels}):
            indices = np.array([i for n, i in pixels if n == nside], dtype=np.int64)
            ra, dec = pixel_directions(nside, indices)
            position = nsides.index(nside)
            parents = parent_pixels(nside, indices, nsides[position - 1]) if position else None
            for k, index in enumerate(indices.tolist()):
                vertex = None if parents is None else self._seed_vertex(nsides[position - 1], int(parents[k]))
                for posvar in range(self.collector.position_variations):
                    tasks.append(
                        PixelTask(
                            scan_id=self.request.scan_id,
                            reco_algo=self.request.reco_algo,
                            setup=self.setup,
                            nside=nside,
                            pixel=index,
                            posvar=posvar,
                            ra=float(ra[k]),
                            dec=float(dec[k]),
                            vertex=vertex,
                            timeout_s=self.timeout_s,
                            sent_at=sent_at,
                        )
                    )
        return tasks

    def _seed_vertex(self, parent_nside: int, parent: int) -> Vertex | None:
        fit = self.collector.fits[parent_nside].get(parent)
        if fit is None or math.isnan(fit.llh):
            return None
        return fit.vertex()

    def _take(self, channel: ScanChannel, outcome: PixelOutcome) -> bool:
        """Apply one outcome; True if it was the first reco back at its nside."""
        key = outcome.key
        task = self.tasks.get(key)
        if task is None:
            LOG.warning("scan %s: outcome for nside %d pixel %d, never sent", self.request.scan_id, *key[:2])
            return False
        if self.collector.seen(key):
            self.duplicates += 1
            return False
        if outcome.kind is OutcomeKind.FIT:
            assert outcome.fit is not None
            first = self.tracker.recos_done_at(outcome.nside) == 0
            self.tracker.record_reco(outcome.nside, outcome.runtime, task.sent_at, time.time())
            final = self.collector.add(key, outcome.fit)
            if final is not None:
                self.refinement.add(outcome.nside, outcome.pixel, final.llh)
                self.tracker.record_pixel_done(outcome.nside)
            return first
        attempts = self.failures[key] = self.failures.get(key, 0) + 1
        what = "timed out" if outcome.kind is OutcomeKind.TIMEOUT else "failed"
        LOG.warning(
            "scan %s: nside %d pixel %d variation %d %s (%d/%d): %s",
            self.request.scan_id,
            *key,
            what,
            attempts,
            self.max_pixel_attempts,
            outcome.error,
        )
        if attempts >= self.max_pixel_attempts:
            raise ScanFailed(
                f"nside {outcome.nside} pixel {outcome.pixel} (variation {outcome.posvar}): reco {what} "
                f"{attempts} times; last: {outcome.error}"
            )
        if outcome.kind is OutcomeKind.ERROR:  # a timed-out task is redelivered by the pool itself
            retry = self.tasks[key] = task.redelivered()
            channel.submit([retry])
        return False

    def fail(self) -> None:
        if self.phase not in (ScanPhase.FAILED, ScanPhase.CANCELLED, ScanPhase.FINISHED):
            self._move(ScanPhase.FAILED)


def _check_time_limit(value: float | None) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"max_pixel_reco_time: expected a positive number of seconds or None, got {value!r}")
    return float(value)


def run_scan(
    request: ScanRequest,
    observer: ScanObserver,
    *,
    pool: PixelPool,
    cancel: threading.Event | None = None,
    progress_interval_s: float = 60.0,
    result_interval_s: float = 120.0,
    stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
    max_pixel_attempts: int = DEFAULT_MAX_PIXEL_ATTEMPTS,
) -> JSONObject:
    """Runs the whole refinement; returns the final skyreader result. Raises ScanCancelled if cancel is set,
    ScanFailed(reason) otherwise."""
    if max_pixel_attempts < 1:
        raise ScanFailed(f"max_pixel_attempts: must be >= 1, got {max_pixel_attempts}")
    scan = _Scan(request, observer, max_pixel_attempts)
    try:
        channel = pool.open_scan(request.scan_id)
    except Exception as exc:
        scan.fail()
        raise ScanFailed(f"pool: cannot open scan {request.scan_id}: {type(exc).__name__}: {exc}") from exc
    try:
        return scan.run(
            channel, cancel or threading.Event(), progress_interval_s, result_interval_s, stall_timeout_s
        )
    except (ScanCancelled, ScanFailed):
        scan.fail()
        raise
    except Exception as exc:
        scan.fail()
        raise ScanFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        try:
            channel.close()
        except Exception as exc:  # the scan's own outcome matters more than cleanup errors
            LOG.warning("scan %s: closing its pool channel failed: %s", request.scan_id, exc)
