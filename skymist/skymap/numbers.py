"""Numbers derived from a skymap analysis, as GCN defines them."""

from __future__ import annotations

import math

from skymist.skymap.model import ErrorBox


def combined_error_deg(box: ErrorBox, dec_deg: float) -> float:
    """GCN's single radius of an error box: sqrt(mean RA error * cos(dec) * mean Dec error), degrees.

    The RA extents are plain RA degrees (not multiplied by cos dec), so cos(dec) converts them.
    """
    ra_err_mean = (abs(box.ra_plus_deg) + abs(box.ra_minus_deg)) / 2.0
    dec_err_mean = (abs(box.dec_plus_deg) + abs(box.dec_minus_deg)) / 2.0
    return math.sqrt(ra_err_mean * math.cos(math.radians(dec_deg)) * dec_err_mean)
