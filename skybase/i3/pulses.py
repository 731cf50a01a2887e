"""Typed pulse series: IceTray's ``I3RecoPulseSeriesMap`` as flat numpy arrays.

A pulse map is ordered by DOM (OMKey: string, then OM number) and, within a DOM, by time, as IceTray's
map is. Each pulse keeps its DOM, time (ns), charge (PE, float32 as IceTray stores it), width (ns,
float32) and flags (bit 0 LC, bit 1 ATWD, bit 2 FADC). Masks select pulses by their position in the map
(the DOM's index among the map's keys, the pulse's index within its DOM), so the arrays keep that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FLAG_LC = 1
FLAG_ATWD = 2
FLAG_FADC = 4

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class OMKey:
    """A DOM: string number (1-86 in-ice; IceTop tanks use OM 61-64) and OM number on it."""

    string: int
    om: int

    def __str__(self) -> str:
        return f"OMKey({self.string},{self.om})"


@dataclass(frozen=True)
class PulseSeries:
    """Pulses, sorted by (string, om) and by time within each DOM."""

    string: npt.NDArray[np.int16]
    om: npt.NDArray[np.int16]
    time: FloatArray  # ns
    charge: npt.NDArray[np.float32]  # PE
    width: npt.NDArray[np.float32]  # ns
    flags: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.time.size)

    @classmethod
    def empty(cls) -> PulseSeries:
        return cls(
            np.zeros(0, np.int16),
            np.zeros(0, np.int16),
            np.zeros(0),
            np.zeros(0, np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.uint8),
        )

    @property
    def dom_code(self) -> IntArray:
        """One integer per pulse naming its DOM (string * 100 + om), increasing along the map."""
        return self.string.astype(np.int64) * 100 + self.om.astype(np.int64)

    def dom_starts(self) -> IntArray:
        """Index of the first pulse of each DOM, and the total count at the end (len = n_doms + 1)."""
        code = self.dom_code
        if code.size == 0:
            return np.zeros(1, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
        out: IntArray = np.r_[starts, code.size].astype(np.int64)
        return out

    @property
    def n_doms(self) -> int:
        return int(self.dom_starts().size - 1)

    @property
    def hlc(self) -> npt.NDArray[np.bool_]:
        return np.asarray((self.flags & FLAG_LC) != 0, dtype=np.bool_)

    def total_charge(self) -> float:
        """The sum of charges, accumulated in double precision."""
        return float(np.sum(self.charge, dtype=np.float64))

    def select(self, keep: npt.NDArray[np.bool_]) -> PulseSeries:
        return PulseSeries(
            self.string[keep],
            self.om[keep],
            self.time[keep],
            self.charge[keep],
            self.width[keep],
            self.flags[keep],
        )

    def keys(self) -> list[OMKey]:
        starts = self.dom_starts()[:-1]
        return [OMKey(int(self.string[i]), int(self.om[i])) for i in starts]
