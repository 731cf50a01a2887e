"""IceCube-86 geometry and ice as shipped with skybase (package data converted from GraphNeT's tables).

``data/icecube86_doms.csv`` holds nominal DOM positions (see its header for attribution and licence;
``data/GRAPHNET_LICENSE.txt`` is the Apache License 2.0 it is distributed under). 77 in-ice DOMs of the
5,160 (86 strings x 60) are absent from the table (DOMs that were off when it was made). Their positions
are interpolated along their string, linearly in OM number between the nearest present DOMs above and
below (or extrapolated from the two nearest at a string's end): strings are vertical to a few metres and
DOMs evenly spaced, so this is good to well under a metre. :attr:`Geometry.interpolated` lists them, and
:meth:`Geometry.positions` reports which pulses landed on one.

``data/ice_transparency.csv``: effective scattering and absorption lengths by depth (10 m layers);
detector z converts to depth as ``1948.07 m - z``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

N_STRINGS = 86
N_INICE_OMS = 60
#: DeepCore strings (IceCube's numbering)
DEEPCORE_STRINGS = tuple(range(79, 87))
#: depth below the surface (m) of detector z = 0
DEPTH_OF_ORIGIN_M = 1948.07

FloatArray = npt.NDArray[np.float64]


class GeometryError(ValueError):
    """A DOM outside IC86's in-ice strings (1-86, OM 1-60) was asked for."""


def _data_text(name: str) -> str:
    return resources.files("skybase.i3").joinpath("data").joinpath(name).read_text(encoding="utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    lines = [line for line in _data_text(name).splitlines() if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@dataclass(frozen=True)
class Geometry:
    """In-ice DOM positions as an (87, 61, 3) array indexed [string, om] (index 0 unused), and the rde."""

    xyz: FloatArray
    rde: FloatArray
    present: npt.NDArray[np.bool_]  # [string, om] True where the table has the DOM
    interpolated: tuple[tuple[int, int], ...]

    @classmethod
    def load(cls) -> Geometry:
        return _load_geometry()

    def _check(self, string: npt.NDArray[np.integer], om: npt.NDArray[np.integer]) -> None:
        bad = (string < 1) | (string > N_STRINGS) | (om < 1) | (om > N_INICE_OMS)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise GeometryError(
                f"DOM ({int(string[i])},{int(om[i])}): not an in-ice IC86 DOM (strings 1-86, OMs 1-60)"
            )

    def positions(self, string: npt.ArrayLike, om: npt.ArrayLike) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """(N, 3) positions of DOMs, and a mask of those whose position was interpolated."""
        s = np.asarray(string, dtype=np.int64)
        o = np.asarray(om, dtype=np.int64)
        self._check(s, o)
        return self.xyz[s, o], ~self.present[s, o]

    def efficiency(self, string: npt.ArrayLike, om: npt.ArrayLike) -> FloatArray:
        s = np.asarray(string, dtype=np.int64)
        o = np.asarray(om, dtype=np.int64)
        self._check(s, o)
        return self.rde[s, o]

    def all_doms(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(string, om) of every in-ice DOM, present or interpolated."""
        s, o = np.meshgrid(np.arange(1, N_STRINGS + 1), np.arange(1, N_INICE_OMS + 1), indexing="ij")
        return s.ravel(), o.ravel()


@lru_cache(maxsize=1)
def _load_geometry() -> Geometry:
    xyz = np.full((N_STRINGS + 1, N_INICE_OMS + 1, 3), np.nan)
    rde = np.ones((N_STRINGS + 1, N_INICE_OMS + 1))
    present = np.zeros((N_STRINGS + 1, N_INICE_OMS + 1), dtype=bool)
    for row in _rows("icecube86_doms.csv"):
        string, om = int(row["string"]), int(row["om"])
        if not (1 <= string <= N_STRINGS and 1 <= om <= N_INICE_OMS):
            continue  # IceTop tanks (OM 61-64)
        xyz[string, om] = (float(row["x"]), float(row["y"]), float(row["z"]))
        rde[string, om] = float(row["rde"]) if row["rde"] else 1.0
        present[string, om] = True
    interpolated: list[tuple[int, int]] = []
    oms = np.arange(1, N_INICE_OMS + 1)
    for string in range(1, N_STRINGS + 1):
        have = present[string, 1:]
        if have.all():
            continue
        known = oms[have]
        if known.size < 2:
            raise GeometryError(f"string {string}: fewer than 2 DOMs in the table, cannot interpolate")
        for om in oms[~have]:
            below = known[known < om]
            above = known[known > om]
            if below.size and above.size:
                a, b = int(below[-1]), int(above[0])
            elif above.size:
                a, b = int(above[0]), int(above[1])
            else:
                a, b = int(below[-2]), int(below[-1])
            f = (om - a) / (b - a)
            xyz[string, om] = xyz[string, a] + f * (xyz[string, b] - xyz[string, a])
            # rde: a DeepCore high-QE neighbour pair means a high-QE DOM
            rde[string, om] = rde[string, a] if rde[string, a] == rde[string, b] else 1.0
            interpolated.append((string, int(om)))
    return Geometry(xyz, rde, present, tuple(interpolated))


@dataclass(frozen=True)
class IceTable:
    """Effective scattering and absorption lengths (m) by depth (m below the surface), layered."""

    depth: FloatArray
    scattering: FloatArray
    absorption: FloatArray

    @classmethod
    def load(cls) -> IceTable:
        return _load_ice()

    def at_z(self, z: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """(scattering, absorption) lengths at detector z (m), interpolated between layer centres."""
        depth = DEPTH_OF_ORIGIN_M - np.asarray(z, dtype=np.float64)
        return (
            np.interp(depth, self.depth, self.scattering),
            np.interp(depth, self.depth, self.absorption),
        )


@lru_cache(maxsize=1)
def _load_ice() -> IceTable:
    rows = _rows("ice_transparency.csv")
    return IceTable(
        np.array([float(r["depth"]) for r in rows]),
        np.array([float(r["scattering_len"]) for r in rows]),
        np.array([float(r["absorption_len"]) for r in rows]),
    )
