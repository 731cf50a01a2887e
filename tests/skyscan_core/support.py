"""Helpers of the scanner-core tests: an observer that records, a pool wrapper that watches outcomes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from skyscan.pixels import pixel_directions
from skyscan.workers import PixelOutcome, PixelPool, PixelTask, ScanChannel


class RecordingObserver:
    """Keeps every PATCH body and PUT result in the order the engine sent them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], bool]] = []

    def manifest_patch(self, body: dict[str, Any]) -> None:
        self.calls.append(("progress", body, False))

    def result(self, skyscan_result: dict[str, Any], is_final: bool) -> None:
        self.calls.append(("result", skyscan_result, is_final))

    @property
    def patches(self) -> list[dict[str, Any]]:
        return [body for kind, body, _ in self.calls if kind == "progress"]

    @property
    def results(self) -> list[tuple[dict[str, Any], bool]]:
        return [(body, final) for kind, body, final in self.calls if kind == "result"]


class WatchedChannel:
    """A real scan channel whose outcomes are recorded; with ``duplicate`` each is handed over twice,
    as the broker does after a redelivery."""

    def __init__(self, inner: ScanChannel, duplicate: bool) -> None:
        self.inner = inner
        self.duplicate = duplicate
        self.outcomes: list[PixelOutcome] = []
        self.submitted: list[PixelTask] = []

    def submit(self, tasks: Sequence[PixelTask]) -> None:
        self.submitted.extend(tasks)
        self.inner.submit(tasks)

    def collect(self, timeout_s: float) -> list[PixelOutcome]:
        outcomes = self.inner.collect(timeout_s)
        self.outcomes.extend(outcomes)
        return [o for o in outcomes for _ in range(2)] if self.duplicate else outcomes

    def close(self) -> None:
        self.inner.close()


class WatchedPool:
    """Wraps a real pool; every scan channel it opens is a :class:`WatchedChannel`."""

    def __init__(self, inner: PixelPool, *, duplicate: bool = False) -> None:
        self.inner = inner
        self.duplicate = duplicate
        self.channels: dict[str, WatchedChannel] = {}

    def open_scan(self, scan_id: str) -> WatchedChannel:
        channel = self.channels[scan_id] = WatchedChannel(self.inner.open_scan(scan_id), self.duplicate)
        return channel

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> WatchedPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def pixel_sets(result: dict[str, Any]) -> dict[str, set[int]]:
    return {key: {row[0] for row in entry["data"]} for key, entry in result.items()}


def best_direction_deg(result: dict[str, Any]) -> tuple[float, float]:
    """(RA, Dec) in degrees of the pixel with the lowest llh over all nsides."""
    best = min(
        ((row[1], entry["metadata"]["nside"], row[0]) for entry in result.values() for row in entry["data"]),
        key=lambda item: item[0],
    )
    ra, dec = pixel_directions(best[1], [best[2]])
    return math.degrees(float(ra[0])), math.degrees(float(dec[0]))
