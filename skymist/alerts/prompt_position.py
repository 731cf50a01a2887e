"""The prompt (Revision 0) localization from the online reconstruction."""

from __future__ import annotations

import math
from dataclasses import dataclass

from skybase.event import RealtimeEvent
from skybase.sky import detector_to_j2000

# containment radii of a circular 2-D Gaussian, in units of sigma (fallback when bs_est is missing)
_R50_PER_SIGMA = math.sqrt(2.0 * math.log(2.0))  # 1.1774
_R90_PER_SIGMA = math.sqrt(2.0 * math.log(10.0))  # 2.1460

#: GCN's prompt (Revision 0) radii of IceCube tracks are one shape scaled: every published pair has
#: Err90 / Err50 = 2.567 (30.80' / 12.00', 41.53' / 16.18', 137.39' / 53.52').
PROMPT_R90_PER_R50 = 2.567
#: Err50 per bootstrap estimate ``bs_est`` of the online SplineMPE fit (the only angular uncertainty of
#: the message that reproduces GCN's numbers: cr_zen/cr_azi give 14.15' where GCN says 16.18').
#: Fitted to run 138632 (bs_est 9.54' -> Err50 16.18'); events below the floor (run 136662, bs_est
#: 5.38') get the floor pair 12.00' / 30.80'.
PROMPT_R50_PER_BS_EST = 1.696


@dataclass(frozen=True)
class PromptLocalization:
    ra_deg: float
    dec_deg: float
    err50_deg: float | None
    err90_deg: float | None
    errors_derived: bool


def online_position(event: RealtimeEvent) -> tuple[float, float]:
    fit = event.require_online()
    return detector_to_j2000(fit.zen, fit.azi, event.event_time)


def derived_radii(event: RealtimeEvent, floor50_deg: float, floor90_deg: float) -> tuple[float, float]:
    """50% / 90% radii (deg) of the prompt notice when the alert gives none, as GCN publishes them.

    From the online fit's bootstrap estimate (``value.data.reco.splinempe.bs_est``, radians):
    r50 = max(floor50, 1.696 bs_est), r90 = max(floor90, 2.567 r50) (see :data:`PROMPT_R50_PER_BS_EST`).
    A message without ``bs_est`` falls back to the circularised Cramer-Rao error
    sigma = sqrt((cr_zen^2 + (cr_azi sin zen)^2) / 2) with a circular Gaussian's containment radii,
    which is optimistic, so the floors normally decide; without either, the floors.
    """
    fit = event.require_online()
    if fit.bs_est is not None:
        r50 = max(PROMPT_R50_PER_BS_EST * math.degrees(fit.bs_est), floor50_deg)
        return r50, max(PROMPT_R90_PER_R50 * r50, floor90_deg)
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
