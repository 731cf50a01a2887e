"""A pixel's track hypothesis for the vertex fits (``pandel_mpe``, ``table_mpe``), in the detector frame.

The muon's direction of travel for a pixel at J2000 (ra, dec) (:func:`travel_direction`), the coarser
parent pixel's fitted vertex (:func:`parent_vertex`) and that vertex as an (alpha, beta, t0) seed of the
new direction (:func:`parent_seed`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from skyscan.recos.base import PixelSeed
from skyscan.recos.pandel import C_VACUUM_M_PER_NS

FloatArray = npt.NDArray[np.float64]


def travel_direction(rotation: FloatArray, ra: float, dec: float) -> FloatArray:
    """The muon's direction of travel (detector frame) for a pixel at J2000 (ra, dec) radians;
    ``rotation``: J2000 unit vector = rotation @ detector "from" unit vector."""
    sky = np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])
    came_from = rotation.T @ sky
    out: FloatArray = -came_from / np.linalg.norm(came_from)
    return out


def parent_vertex(seed: PixelSeed) -> FloatArray | None:
    """The parent pixel's fitted vertex (x, y, z, t), None for a pixel of the first nside."""
    if seed.vertex is None:
        return None
    return np.array([seed.vertex.x, seed.vertex.y, seed.vertex.z, seed.vertex.t])


def parent_seed(
    parent: FloatArray, centre: FloatArray, u: FloatArray, e1: FloatArray, e2: FloatArray
) -> list[float]:
    """The parent's vertex moved along direction ``u`` to the plane through ``centre``, as
    (alpha, beta, t0) in the basis ``e1``, ``e2`` perpendicular to ``u``."""
    offset = parent[:3] - centre
    along = float(offset @ u)
    return [float(offset @ e1), float(offset @ e2), float(parent[3]) - along / C_VACUUM_M_PER_NS]
