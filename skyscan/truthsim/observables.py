"""The realism observables of issue 22, computed the same way on real and simulated cleaned pulses.

- ``pulses_per_dom``: cleaned pulses / cleaned DOMs (``npulses / nch`` of the message);
- ``brightest_share``: the charge of the brightest cleaned DOM over the cleaned charge;
- ``median_residual_ns``: per perpendicular-distance bin (m) from a track, the median over DOMs of the
  first cleaned pulse's time minus the direct Cherenkov time
  ``t0 + (l - rho cot theta_c) / c + rho n_g / (c sin theta_c)`` (l along the track from its point at
  t0, rho the DOM's distance; n_p 1.3195 and n_g 1.35634, IceCube's 400 nm convention).

The track is the caller's: the truth for a simulated event, the online SplineMPE fit (vertex, time,
direction from the P frame) for a real one. A fitted track is pulled towards early residuals, the truth
is not: the comparison favours the real events slightly.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from skybase.i3.geometry import Geometry
from skybase.i3.pulses import PulseSeries

FloatArray = npt.NDArray[np.float64]

N_PHASE = 1.3195
N_GROUP = 1.35634
C_M_PER_NS = 0.299792458
DISTANCE_BINS_M: tuple[tuple[float, float], ...] = (
    (0.0, 50.0),
    (50.0, 100.0),
    (100.0, 150.0),
    (150.0, 250.0),
)


@dataclass(frozen=True)
class Track:
    """An infinite track: a point on it (m), the time the muon is there (ns), its travel direction."""

    point: FloatArray
    time_ns: float
    direction: FloatArray

    @classmethod
    def from_zenith_azimuth(cls, point: FloatArray, time_ns: float, zenith: float, azimuth: float) -> Track:
        """From detector zenith/azimuth (where the muon comes FROM)."""
        st = math.sin(zenith)
        u = -np.array([st * math.cos(azimuth), st * math.sin(azimuth), math.cos(zenith)])
        return cls(np.asarray(point, dtype=np.float64), float(time_ns), u)


def bin_label(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g} m"


def observables(pulses: PulseSeries, geometry: Geometry, track: Track) -> dict[str, object]:
    """The three observables (and the counts behind them) of these cleaned pulses."""
    starts = pulses.dom_starts()
    n_doms = starts.size - 1
    if n_doms == 0:
        raise ValueError("pulses: no DOMs, no observables")
    charge = np.add.reduceat(pulses.charge.astype(np.float64), starts[:-1])
    first = starts[:-1]
    xyz, _ = geometry.positions(pulses.string[first], pulses.om[first])
    t_first = np.array([pulses.time[a:b].min() for a, b in itertools.pairwise(starts)])
    rel = xyz - track.point
    along = rel @ track.direction
    rho = np.linalg.norm(rel - along[:, None] * track.direction, axis=1)
    sin_c = math.sqrt(1.0 - 1.0 / N_PHASE**2)
    cot_c = (1.0 / N_PHASE) / sin_c
    t_geo = track.time_ns + (along - rho * cot_c) / C_M_PER_NS + rho * N_GROUP / (C_M_PER_NS * sin_c)
    residual = t_first - t_geo
    medians: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for lo, hi in DISTANCE_BINS_M:
        sel = (rho >= lo) & (rho < hi)
        medians[bin_label(lo, hi)] = round(float(np.median(residual[sel])), 1) if sel.any() else None
        counts[bin_label(lo, hi)] = int(sel.sum())
    return {
        "npulses": len(pulses),
        "nch": n_doms,
        "qtot": round(float(charge.sum()), 2),
        "pulses_per_dom": round(len(pulses) / n_doms, 3),
        "brightest_share": round(float(charge.max() / charge.sum()), 4),
        "median_residual_ns": medians,
        "doms_per_bin": counts,
    }
