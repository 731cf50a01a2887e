"""The online direction reproduces GCN's published Revision 0 positions of real IceCube alerts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from skymist.coords import angular_distance_deg, detector_to_j2000, j2000_to_detector

# ../shared/data/real/README.md: GCN AMON Rev 0 positions (J2000 deg)
PUBLISHED_REV0 = {
    "run00136662-evt000035405932-BRONZE.json": (48.8497, -3.5219),
    "run00138632-evt000031747601-BRONZE.json": (138.6545, 0.1418),
}


@pytest.mark.parametrize("filename", sorted(PUBLISHED_REV0))
def test_rev0_position_matches_published(shared_dir: Path, filename: str) -> None:
    data = json.loads((shared_dir / "data" / "real" / filename).read_text())["value"]["data"]
    when = dt.datetime.fromisoformat(data["eventtime"]).replace(tzinfo=dt.UTC)
    ra, dec = detector_to_j2000(data["reco"]["splinempe"]["zen"], data["reco"]["splinempe"]["azi"], when)
    ra_pub, dec_pub = PUBLISHED_REV0[filename]
    assert abs(ra - ra_pub) < 0.02
    assert abs(dec - dec_pub) < 0.02


def test_epoch_of_date_matters() -> None:
    """The detector sees the sky of date: without the rotation to J2000 the 2022 event is ~0.3 deg off."""
    import erfa

    when = dt.datetime(2022, 5, 24, 7, 41, 32, 185352, tzinfo=dt.UTC)
    ra, dec = detector_to_j2000(1.51078, 0.66587, when)
    utc1, utc2 = erfa.dtf2d("UTC", 2022, 5, 24, 7, 41, 32.185352)
    tt1, tt2 = erfa.taitt(*erfa.utctai(utc1, utc2))
    gast = erfa.gst06a(utc1, utc2, tt1, tt2)
    ra_of_date = np.degrees(np.mod(gast - 0.66587 + np.pi / 2, 2 * np.pi))
    dec_of_date = np.degrees(1.51078) - 90.0
    assert angular_distance_deg(ra_of_date, dec_of_date, 48.8497, -3.5219) > 0.25
    assert angular_distance_deg(ra, dec, 48.8497, -3.5219) < 0.02
    zen, azi = j2000_to_detector(ra, dec, when)
    assert zen == pytest.approx(1.51078, abs=1e-9)
    assert azi == pytest.approx(0.66587, abs=1e-9)


def test_vectorised_matches_scalar() -> None:
    when = dt.datetime(2023, 12, 2, 17, 8, 24, 93230, tzinfo=dt.UTC)
    zen = np.array([0.1, 1.2, 2.9])
    azi = np.array([0.3, 4.0, 6.2])
    ras, decs = detector_to_j2000(zen, azi, when)
    for z, a, r, d in zip(zen, azi, ras, decs, strict=True):
        assert detector_to_j2000(float(z), float(a), when) == pytest.approx((r, d), abs=1e-9)
