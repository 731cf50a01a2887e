"""The prompt (Revision 0) localization from the online reconstruction."""

from __future__ import annotations

import math
from dataclasses import dataclass

from skymist.coords import detector_to_j2000
from skymist.ingest.messages import RealtimeEvent

# containment radii of a circular 2-D Gaussian, in units of sigma
_R50_PER_SIGMA = math.sqrt(2.0 * math.log(2.0))  # 1.1774
_R90_PER_SIGMA = math.sqrt(2.0 * math.log(10.0))  # 2.1460


@dataclass(frozen=True)
class PromptLocalization:
    ra_deg: float
    dec_deg: float
    err50_deg: float | None
    err90_deg: float | None
    errors_derived: bool


def online_position(event: RealtimeEvent) -> tuple[float, float]:
    fit = event.value.data.reco.splinempe
    return detector_to_j2000(fit.zen, fit.azi, event.value.data.eventtime)


def derived_radii(event: RealtimeEvent, floor50_deg: float, floor90_deg: float) -> tuple[float, float]:
    """50% / 90% radii (deg) from the online fit's uncertainties, never below the floors.

    sigma = sqrt((cr_zen^2 + (cr_azi * sin zen)^2) / 2), the circularised 1-sigma error; the radii
    are a circular 2-D Gaussian's containment radii. The online uncertainties are statistical
    only and far smaller than the true error, so the floors (0.2 / 0.5 deg by default, the size of
    IceCube's prompt notices) normally decide.
    """
    fit = event.value.data.reco.splinempe
    if fit.cr_zen is None or fit.cr_azi is None:
        return floor50_deg, floor90_deg
    sigma_rad = math.sqrt((fit.cr_zen**2 + (fit.cr_azi * math.sin(fit.zen)) ** 2) / 2.0)
    sigma_deg = math.degrees(sigma_rad)
    return max(_R50_PER_SIGMA * sigma_deg, floor50_deg), max(_R90_PER_SIGMA * sigma_deg, floor90_deg)


def prompt_localization(
    event: RealtimeEvent,
    *,
    err50_deg: float | None,
    err90_deg: float | None,
    floor50_deg: float,
    floor90_deg: float,
) -> PromptLocalization:
    ra, dec = online_position(event)
    derived = err50_deg is None or err90_deg is None
    if derived:
        d50, d90 = derived_radii(event, floor50_deg, floor90_deg)
        err50_deg = err50_deg if err50_deg is not None else min(d50, err90_deg or d50)
        err90_deg = err90_deg if err90_deg is not None else max(d90, err50_deg)
    return PromptLocalization(ra, dec, err50_deg, err90_deg, derived)
