"""The online muon pulse cleaning of IceCube's realtime event messages, reproduced on the split pulses.

Three steps, as the online filter applies them before computing the message's ``npulses``/``nch``/``qtot``:

1. *SeededRT* (IceCube's STTools): two pulses are *RT-connected* when their DOMs are within
   ``radius_m`` (150 m) and the pulses within ``time_ns`` (1000 ns) of each other; two pulses of the same
   DOM count too (``allow_self_coincidence``: without it run 136662 loses a late pulse of DOM (51,21)
   that only its own DOM's earlier pulses connect, and the message's 668 pulses become 667). The seeds are
   the HLC pulses with at least ``seed_partners`` (2) RT-connected HLC pulses ("HLC core hits"). Then
   ``iterations`` (3) times, every pulse RT-connected to a pulse already kept is added.
2. *Time window*: of the kept pulses, those in the ``window_ns`` (6,000 ns) window that holds the most
   pulses (the earliest such window when several tie).
3. DeepCore strings 79-86 are left out.

Vectorised with numpy: the RT relation is a list of connected pulse pairs, found by a sweep over the
time-sorted pulses against a DOM x DOM distance table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from skybase.i3.geometry import DEEPCORE_STRINGS, Geometry
from skybase.i3.pulses import PulseSeries


@dataclass(frozen=True)
class CleaningSettings:
    radius_m: float = 150.0
    time_ns: float = 1000.0
    seed_partners: int = 2
    iterations: int = 3
    window_ns: float = 6000.0
    drop_strings: tuple[int, ...] = DEEPCORE_STRINGS
    allow_self_coincidence: bool = True


@dataclass(frozen=True)
class CleanedPulses:
    pulses: PulseSeries
    n_split: int
    n_after_rt: int
    n_after_window: int

    @property
    def npulses(self) -> int:
        return len(self.pulses)

    @property
    def nch(self) -> int:
        return self.pulses.n_doms

    @property
    def qtot(self) -> float:
        return self.pulses.total_charge()


def rt_pairs(
    pulses: PulseSeries, geometry: Geometry, radius_m: float, time_ns: float, *, self_coincidence: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All RT-connected pulse pairs (i, j), i != j, each pair listed in both orders.

    A sweep over the time-sorted pulses (pulse k against pulse k + 1, k + 2, ... while within
    ``time_ns``), checked against a DOM x DOM distance table: memory grows with the pairs, not N^2.
    """
    codes, dom_of_pulse = np.unique(pulses.dom_code, return_inverse=True)
    xyz, _ = geometry.positions(codes // 100, codes % 100)
    diff = xyz[:, None, :] - xyz[None, :, :]
    near_doms = np.einsum("ijk,ijk->ij", diff, diff) <= radius_m * radius_m
    if not self_coincidence:
        np.fill_diagonal(near_doms, False)
    order = np.argsort(pulses.time, kind="stable")
    times = pulses.time[order]
    doms = dom_of_pulse[order]
    firsts: list[npt.NDArray[np.int64]] = []
    seconds: list[npt.NDArray[np.int64]] = []
    n = times.size
    for step in range(1, n):
        close = times[step:] - times[:-step] <= time_ns
        if not close.any():
            break
        i = np.flatnonzero(close)
        j = i + step
        linked = near_doms[doms[i], doms[j]]
        firsts.append(order[i[linked]])
        seconds.append(order[j[linked]])
    if not firsts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    a = np.concatenate(firsts)
    b = np.concatenate(seconds)
    return np.concatenate([a, b]), np.concatenate([b, a])


def seeded_rt(pulses: PulseSeries, geometry: Geometry, settings: CleaningSettings) -> npt.NDArray[np.bool_]:
    """The mask of pulses SeededRT keeps."""
    n = len(pulses)
    if n == 0:
        return np.zeros(0, dtype=bool)
    a, b = rt_pairs(
        pulses,
        geometry,
        settings.radius_m,
        settings.time_ns,
        self_coincidence=settings.allow_self_coincidence,
    )
    hlc = pulses.hlc
    partners = np.bincount(a[hlc[b]], minlength=n)
    kept = hlc & (partners >= settings.seed_partners)
    for _ in range(settings.iterations):
        grown = kept.copy()
        grown[a[kept[b]]] = True
        if np.array_equal(grown, kept):
            break
        kept = grown
    return np.asarray(kept, dtype=np.bool_)


def time_window(times: npt.NDArray[np.float64], window_ns: float) -> npt.NDArray[np.bool_]:
    """The mask of the pulses inside the ``window_ns`` window starting at a pulse that holds the most."""
    if times.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.sort(times)
    counts = np.searchsorted(order, order + window_ns, side="right") - np.arange(order.size)
    start = order[int(np.argmax(counts))]
    return np.asarray((times >= start) & (times <= start + window_ns), dtype=np.bool_)


def clean(pulses: PulseSeries, geometry: Geometry, settings: CleaningSettings | None = None) -> CleanedPulses:
    settings = settings or CleaningSettings()
    rt = pulses.select(seeded_rt(pulses, geometry, settings))
    windowed = rt.select(time_window(rt.time, settings.window_ns))
    out = windowed.select(~np.isin(windowed.string, np.asarray(settings.drop_strings)))
    return CleanedPulses(out, len(pulses), len(rt), len(windowed))
