"""``online_gaussian``: an approximation of a scan, centred on the online direction, sized from public data.

A real pixel fit needs the event's pulses. What the realtime message carries in plain JSON is the online
reconstruction: the SplineMPE direction (``value.data.reco.splinempe``: ``zen``, ``azi`` in the detector
frame) and its bootstrap uncertainty ``bs_est``. This algorithm turns those into a likelihood on the sky:

- the online direction is converted to J2000 at ``value.data.eventtime``
  (:func:`skybase.sky.detector_to_j2000`), which reproduces the published Revision 0 positions;
- the size of its regions is calibrated on how far IceCube's online positions lay from its refined
  positions for public Gold/Bronze alerts (:mod:`skyscan.online_calibration`: the 50% and 90% radii grow
  with the Rev 0 radius GCN would publish for the event, ``w`` from ``bs_est``); the online fit's own
  Cramer-Rao errors (``cr_zen``, ``cr_azi``, about 0.1-0.2 deg) are far too small and are not used;
- the llh of a pixel at angular distance d from the online direction is
  ``0.5 * 4.61 * (d / r90) ** k + log_norm`` with ``k = ln(4.61 / 1.39) / ln(r90 / r50)``: 2 * (llh - llh_min)
  is 1.39 at r50 and 4.61 at r90, so the Wilks levels that the result declares (``region_method: wilks``)
  draw exactly the calibrated 50% / 90% circles. ``log_norm`` makes exp(-llh) a probability density per
  steradian (flat-sky normalisation). For k = 2 it is a circular Gaussian; the calibrated k is near 1,
  the offsets' tail being longer than a Gaussian's.

What it is not: a fit of the event's light. Energies, vertex and time are NaN; the result's metadata names
the algorithm and its kind (``approximation``) so nobody takes it for a reconstruction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from skybase.event import ONLINE_RECO_KEY, RealtimeEvent
from skybase.sky import detector_to_j2000
from skyscan.online_calibration import load_calibration, prompt_err90_deg
from skyscan.recos.base import (
    PixelFit,
    PixelSeed,
    Reco,
    RecoKind,
    RecoOptionError,
    Setup,
    float_option,
    reject_unknown_options,
)

#: options: fixed radii instead of the calibrated ones (both or neither)
_OPTIONS = ("r50_deg", "r90_deg")
#: the Wilks levels of 2 Delta llh (2 dof) that skymist's ``wilks`` threshold set applies
WILKS_50 = 1.39
WILKS_90 = 4.61

Vector = npt.NDArray[np.float64]


def unit_vector(ra: float, dec: float) -> Vector:
    """Cartesian unit vector of (RA, Dec) in radians."""
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def shape_exponent(r50: float, r90: float) -> float:
    """k such that 4.61 (d / r90)^k is 1.39 at d = r50."""
    if not 0.0 < r50 < r90:
        raise ValueError(f"online_gaussian: need 0 < r50 < r90, got r50 = {r50!r}, r90 = {r90!r}")
    return math.log(WILKS_90 / WILKS_50) / math.log(r90 / r50)


def log_normalisation(r90: float, exponent: float) -> float:
    """ln Z, Z = the integral over the plane of exp(-c d^k) = 2 pi Gamma(2/k) / (k c^(2/k)), with
    c = 0.5 * 4.61 / r90^k (radians): llh = c d^k + ln Z makes exp(-llh) a density per steradian."""
    c = 0.5 * WILKS_90 / r90**exponent
    k = exponent
    return math.log(2.0 * math.pi) + math.lgamma(2.0 / k) - math.log(k) - (2.0 / k) * math.log(c)


def _radii(options: Mapping[str, Any], width_deg: float) -> tuple[float, float, str]:
    given = [key for key in _OPTIONS if key in options]
    if given and len(given) != len(_OPTIONS):
        raise RecoOptionError(
            f"reco_options of 'online_gaussian': give both r50_deg and r90_deg, or neither (got {given})"
        )
    if given:
        r50 = float_option("online_gaussian", options, "r50_deg", 0.0, minimum=1e-6)
        r90 = float_option("online_gaussian", options, "r90_deg", 0.0, minimum=1e-6)
        if r90 <= r50:
            raise RecoOptionError(
                f"reco_options of 'online_gaussian': r90_deg {r90!r} must exceed r50_deg {r50!r}"
            )
        return r50, r90, "reco_options"
    calibration = load_calibration()
    r50, r90 = calibration.radii_deg(width_deg)
    return r50, r90, str(calibration.record["name"])


class OnlineGaussianReco(Reco):
    name: ClassVar[str] = "online_gaussian"
    #: no fit of the detector's light: a stand-in for a scan
    kind: ClassVar[RecoKind] = "approximation"
    #: its llh is shaped so that Wilks' levels draw exactly its calibrated 50% / 90% circles
    region_method: ClassVar[str] = "wilks"
    description: ClassVar[str] = (
        "approximation: regions around the online SplineMPE direction, sized from how far IceCube's online "
        "positions lay from its offline ones for public Gold/Bronze alerts; no fit of detector data "
        "(energies, vertex, time are NaN)"
    )

    def __init__(self, centre: Vector, r90: float, exponent: float):
        self.centre = centre
        self.coefficient = 0.5 * WILKS_90 / r90**exponent
        self.exponent = exponent
        self.log_norm = log_normalisation(r90, exponent)

    @classmethod
    def prepare(cls, event: RealtimeEvent, options: Mapping[str, Any]) -> Setup:
        reject_unknown_options(cls.name, options, _OPTIONS)
        online = event.require_online()
        ra0, dec0 = detector_to_j2000(online.zen, online.azi, event.event_time)
        width = prompt_err90_deg(online.bs_est)
        r50, r90, origin = _radii(options, width)
        return {
            "ra_deg": ra0,
            "dec_deg": dec0,
            "centre": unit_vector(math.radians(ra0), math.radians(dec0)).tolist(),
            "rev0_err90_deg": width,
            "width_from": "bs_est" if online.bs_est is not None else "GCN's floor (no bs_est in the message)",
            "r50_deg": r50,
            "r90_deg": r90,
            "exponent": shape_exponent(r50, r90),
            "radii_from": origin,
            "source": f"value.data.reco.{ONLINE_RECO_KEY}",
        }

    @classmethod
    def from_setup(cls, setup: Mapping[str, Any]) -> OnlineGaussianReco:
        r90, exponent = float(setup["r90_deg"]), float(setup["exponent"])
        if not (math.isfinite(r90) and r90 > 0.0 and math.isfinite(exponent) and exponent > 0.0):
            raise ValueError(
                f"online_gaussian setup: r90_deg and exponent must be positive, got {r90!r}, {exponent!r}"
            )
        return cls(np.asarray(setup["centre"], dtype=np.float64), math.radians(r90), exponent)

    def fit(self, seed: PixelSeed) -> PixelFit:
        pixel = unit_vector(seed.ra, seed.dec)
        distance = math.atan2(float(np.linalg.norm(np.cross(pixel, self.centre))), float(pixel @ self.centre))
        return PixelFit(llh=self.coefficient * distance**self.exponent + self.log_norm)
