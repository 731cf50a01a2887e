"""``online_gaussian``: an honest approximation of a scan for events whose detector data can't be read.

A real pixel fit needs the event's pulses, which travel as IceTray frames that only IceCube's software
decodes. What the realtime message does carry in plain JSON is the online reconstruction: the SplineMPE
direction (``value.data.reco.splinempe``: ``zen``, ``azi`` in the detector frame) and its uncertainties
(``cr_zen``, ``cr_azi``, radians). This algorithm turns those into a likelihood on the sky:

- the online direction is converted to J2000 at ``value.data.eventtime``
  (:func:`skybase.sky.detector_to_j2000`: observed place at the detector, then mean J2000), which
  reproduces the published Revision 0 positions;
- the uncertainty is a 2-D Gaussian whose axes follow the detector's zenith and azimuth directions on the
  sky (sigma_zen = ``cr_zen``, sigma_azi = ``cr_azi`` * sin(zenith)), each widened to a floor set by
  ``floor_r90_deg`` (default 0.5 deg: the radius that contains 90 % of a circular Gaussian, i.e. sigma =
  r90 / sqrt(2 ln 10)), because Cramer-Rao errors of a single online fit are optimistic;
- the llh of a pixel is the Gaussian's -ln(probability density per steradian) at the pixel centre, with the
  offset measured in the azimuthal-equidistant projection around the online direction. So
  2 * (llh - llh_min) is exactly the Gaussian's chi-square with 2 degrees of freedom: Wilks' 1.39 / 4.61
  contours are its 50 % / 90 % regions.

What it is not: a fit of the event's light. Energies, vertex and time are NaN. The skymaps have a
realistic size and lie in the right place, which is what demos and the pipeline downstream need; the
result's metadata names the algorithm so nobody takes them for a real scan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from skybase.event import ONLINE_RECO_KEY, EventFormatError, OnlineTrackFit, RealtimeEvent
from skybase.sky import detector_to_j2000
from skyscan.recos.base import (
    PixelFit,
    PixelSeed,
    Reco,
    RecoKind,
    Setup,
    float_option,
    reject_unknown_options,
)

_OPTIONS = ("floor_r90_deg",)
#: a circular 2-D Gaussian holds 90 % of its probability within this many sigmas
R90_IN_SIGMAS = math.sqrt(2.0 * math.log(10.0))
#: finite-difference step (rad) used to find the sky directions of the detector's zenith and azimuth axes
_AXIS_STEP = 1e-5

Vector = npt.NDArray[np.float64]


def unit_vector(ra: float, dec: float) -> Vector:
    """Cartesian unit vector of (RA, Dec) in radians."""
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def _uncertainties(online: OnlineTrackFit) -> tuple[float, float]:
    """``cr_zen``, ``cr_azi``: optional in the message, needed here."""
    if online.cr_zen is None or online.cr_azi is None:
        key = "cr_zen" if online.cr_zen is None else "cr_azi"
        raise EventFormatError(
            "required field is missing: the Gaussian's width comes from it",
            f"value.data.reco.{ONLINE_RECO_KEY}.{key}",
        )
    return online.cr_zen, online.cr_azi


class OnlineGaussianReco(Reco):
    name: ClassVar[str] = "online_gaussian"
    #: no fit of the detector's light: a stand-in for a scan
    kind: ClassVar[RecoKind] = "approximation"
    #: its llh is a chi-square with 2 degrees of freedom: Wilks' levels are its exact 50% / 90% regions
    region_method: ClassVar[str] = "wilks"
    description: ClassVar[str] = (
        "approximation: 2-D Gaussian around the online SplineMPE direction with its cr_zen/cr_azi errors "
        "widened to a floor; no fit of detector data (energies, vertex, time are NaN)"
    )

    def __init__(
        self, centre: Vector, zen_axis: Vector, azi_axis: Vector, sigma_zen: float, sigma_azi: float
    ):
        self.centre = centre
        self.zen_axis = zen_axis
        self.azi_axis = azi_axis
        self.sigma_zen = sigma_zen
        self.sigma_azi = sigma_azi
        self.log_norm = math.log(2.0 * math.pi * sigma_zen * sigma_azi)

    @classmethod
    def prepare(cls, event: RealtimeEvent, options: Mapping[str, Any]) -> Setup:
        reject_unknown_options(cls.name, options, _OPTIONS)
        floor_r90 = float_option(cls.name, options, "floor_r90_deg", 0.5)
        online = event.require_online()
        zenith, azimuth = online.zen, online.azi
        zenith_error, azimuth_error = _uncertainties(online)
        when = event.event_time
        ra0, dec0 = detector_to_j2000(zenith, azimuth, when)
        centre = unit_vector(math.radians(ra0), math.radians(dec0))
        # the sky directions in which the detector's zenith and azimuth grow, at the event's time
        ra_z, dec_z = detector_to_j2000(zenith + _AXIS_STEP, azimuth, when)
        zen_axis = unit_vector(math.radians(ra_z), math.radians(dec_z)) - centre
        zen_axis -= centre * float(zen_axis @ centre)
        zen_axis /= float(np.linalg.norm(zen_axis))
        azi_axis = np.cross(centre, zen_axis)
        ra_a, dec_a = detector_to_j2000(zenith, azimuth + _AXIS_STEP, when)
        if float((unit_vector(math.radians(ra_a), math.radians(dec_a)) - centre) @ azi_axis) < 0.0:
            azi_axis = -azi_axis
        floor_sigma = math.radians(floor_r90) / R90_IN_SIGMAS
        return {
            "ra_deg": ra0,
            "dec_deg": dec0,
            "centre": centre.tolist(),
            "zen_axis": zen_axis.tolist(),
            "azi_axis": azi_axis.tolist(),
            "sigma_zen": max(zenith_error, floor_sigma),
            "sigma_azi": max(azimuth_error * math.sin(zenith), floor_sigma),
            "floor_r90_deg": floor_r90,
            "source": f"value.data.reco.{ONLINE_RECO_KEY}",
        }

    @classmethod
    def from_setup(cls, setup: Mapping[str, Any]) -> OnlineGaussianReco:
        sigmas = (float(setup["sigma_zen"]), float(setup["sigma_azi"]))
        if not all(math.isfinite(s) and s > 0.0 for s in sigmas):
            raise ValueError(f"online_gaussian setup: sigmas must be positive, got {sigmas!r}")
        return cls(
            np.asarray(setup["centre"], dtype=np.float64),
            np.asarray(setup["zen_axis"], dtype=np.float64),
            np.asarray(setup["azi_axis"], dtype=np.float64),
            *sigmas,
        )

    def fit(self, seed: PixelSeed) -> PixelFit:
        pixel = unit_vector(seed.ra, seed.dec)
        along_zen = float(pixel @ self.zen_axis)
        along_azi = float(pixel @ self.azi_axis)
        # azimuthal-equidistant offset: true angular distance, split by position angle
        distance = math.atan2(math.hypot(along_zen, along_azi), float(pixel @ self.centre))
        angle = math.atan2(along_azi, along_zen)
        d_zen = distance * math.cos(angle) / self.sigma_zen
        d_azi = distance * math.sin(angle) / self.sigma_azi
        return PixelFit(llh=0.5 * (d_zen * d_zen + d_azi * d_azi) + self.log_norm)
