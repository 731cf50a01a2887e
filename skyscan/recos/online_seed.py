"""What the vertex fits (``pandel_mpe``, ``table_mpe``) take from the event's online track fit.

Server side: the event's IceTray frames (:func:`event_frames`), the online track a fit is seeded with
(:func:`online_seed`: SplineMPE, else LineFit) and the -ln L at that track's direction
(:func:`reference_llh`), above which a far pixel gives up its vertex search. Worker side: the online
vertex the setup carries (:func:`setup_online_vertex`) and the :class:`~.track_llh.GiveUp` it sets
(:func:`setup_give_up`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from skybase.event import EventFormatError, RealtimeEvent
from skybase.i3.event import EventFrames
from skyscan.recos.base import PixelFit
from skyscan.recos.track_llh import GiveUp

FloatArray = npt.NDArray[np.float64]


class DirectionFit(Protocol):
    """A reco that fits the vertex of one fixed direction of travel (detector frame)."""

    def fit_direction(self, u: FloatArray) -> tuple[PixelFit, int]: ...


@dataclass(frozen=True)
class OnlineSeed:
    """The online track: a point on it (m, detector frame) and its direction of travel (unit vector)."""

    vertex: list[float]
    travel: FloatArray


def event_frames(event: RealtimeEvent, reco_name: str) -> EventFrames:
    """The event's IceTray frames, or a one-line error when the message carries none."""
    if event.frames is None:
        raise EventFormatError(
            f"value.data.frames: missing; run {event.run_id} event {event.event_id} carries no pulses "
            f"for {reco_name!r} to fit"
        )
    return EventFrames.from_entries(event.frames)


def online_seed(frames: EventFrames) -> OnlineSeed | None:
    """The online SplineMPE track of the frames, else their LineFit; None when they hold neither."""
    for first_guess in (frames.splinempe, lambda: frames.particle("LineFit")):
        try:
            online = first_guess()
        except ValueError:
            continue
        return OnlineSeed(
            [online.x, online.y, online.z], np.asarray(online.direction_vector(), dtype=np.float64)
        )
    return None


def reference_llh(
    seed: OnlineSeed | None, give_up_dllh: float, at_online: Callable[[FloatArray], DirectionFit]
) -> float | None:
    """The -ln L at the online direction (far pixels give up above it + ``give_up_dllh``), fitted by
    ``at_online(online vertex)``; None without an online track or when the give-up is off (<= 0)."""
    if seed is None or give_up_dllh <= 0:
        return None
    fit, _ = at_online(np.asarray(seed.vertex)).fit_direction(seed.travel)
    return round(fit.llh, 6)


def setup_online_vertex(setup: Mapping[str, Any]) -> FloatArray | None:
    """The setup's online vertex (``online_vertex``), None when the event had no online track."""
    vertex = setup.get("online_vertex")
    return None if vertex is None else np.asarray(vertex, dtype=np.float64)


def setup_give_up(setup: Mapping[str, Any]) -> GiveUp | None:
    """The give-up of the setup's ``reference_llh`` + ``give_up_dllh``; None when either is absent/off."""
    reference = setup.get("reference_llh")
    give_up_dllh = float(setup.get("give_up_dllh", 0.0))
    if reference is None or give_up_dllh <= 0:
        return None
    return GiveUp(float(reference) + give_up_dllh)
