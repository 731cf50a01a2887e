"""Regions, error boxes, areas and contours on synthetic scans with known answers."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from skymist.skymap.analysis import analyze_path
from skymist.skymap.fits_flat import flat_map_values
from skymist.skymap.model import THRESHOLD_SETS

FINE_PIXEL_DEG = math.degrees(math.sqrt(4 * math.pi / (12 * 512**2)))  # ~0.115 deg at nside 512


def test_wilks_region_of_a_gaussian(make_json: Callable[..., Path]) -> None:
    """llh = (d / sigma)^2 / 2: the Wilks 90% region is the disc d <= sigma sqrt(4.61)."""
    sigma, dec = 1.0, 10.0
    analysis = analyze_path(make_json(ra_deg=120.0, dec_deg=dec, sigma_deg=sigma), "wilks")
    radius = sigma * math.sqrt(4.61)
    r90 = analysis.region_90
    assert r90.two_delta_llh_level == 4.61
    assert r90.area_deg2 == pytest.approx(math.pi * radius**2, rel=0.03)
    box = r90.box
    assert box.dec_plus_deg == pytest.approx(radius, abs=FINE_PIXEL_DEG)
    assert box.dec_minus_deg == pytest.approx(radius, abs=FINE_PIXEL_DEG)
    # RA extents are plain RA degrees: wider than the radius by 1 / cos(Dec)
    assert box.ra_plus_deg == pytest.approx(radius / math.cos(math.radians(dec)), abs=2 * FINE_PIXEL_DEG)
    assert box.ra_minus_deg == pytest.approx(radius / math.cos(math.radians(dec)), abs=2 * FINE_PIXEL_DEG)
    r50 = analysis.region_50
    assert r50.area_deg2 == pytest.approx(math.pi * sigma**2 * 1.39, rel=0.05)
    assert r50.area_deg2 < r90.area_deg2


@pytest.mark.parametrize("ra0", [0.3, 359.8])
def test_ra_wrap_at_zero(make_json: Callable[..., Path], ra0: float) -> None:
    analysis = analyze_path(make_json(ra_deg=ra0, dec_deg=-20.0, sigma_deg=1.0), "wilks")
    assert analysis.ra_deg == pytest.approx(ra0, abs=0.2)
    box = analysis.region_90.box
    expected = math.sqrt(4.61) / math.cos(math.radians(20.0))
    for extent in (box.ra_plus_deg, box.ra_minus_deg):
        assert extent == pytest.approx(expected, abs=2 * FINE_PIXEL_DEG)
        assert extent < 10.0  # not ~358 deg
    # the contour is one continuous line around the best fit, crossing RA 0
    contour = analysis.region_90.contours[0]
    assert contour.ra_deg.min() < analysis.ra_deg < contour.ra_deg.max()
    assert contour.ra_deg.max() - contour.ra_deg.min() < 10.0
    assert (contour.ra_deg < 0).any() or (contour.ra_deg >= 360).any()


def test_hpd_regions_hold_50_and_90_percent(make_json: Callable[..., Path]) -> None:
    analysis = analyze_path(make_json(ra_deg=250.0, dec_deg=45.0, sigma_deg=1.0), "hpd")
    assert analysis.thresholds is THRESHOLD_SETS["hpd"]
    for region, target in ((analysis.region_50, 0.5), (analysis.region_90, 0.9)):
        assert target <= region.probability <= target + 0.03
        # independent check on the flat per-pixel probability map
        prob = flat_map_values(analysis, "PROB")
        ts = flat_map_values(analysis, "2DLLH")
        assert prob.sum() == pytest.approx(1.0, abs=1e-9)
        inside = ts <= region.two_delta_llh_level
        assert prob[inside].sum() == pytest.approx(region.probability, rel=1e-9)
        assert inside.sum() == region.n_fine_pixels
        # the HPD region is the smallest: dropping its least likely pixels falls below the target
        assert prob[ts < region.two_delta_llh_level].sum() < target
    # p ~ exp(-delta llh) for llh = (d/sigma)^2/2 is a 2-d Gaussian: the 90% region has 2 delta llh = 4.61
    assert analysis.region_90.two_delta_llh_level == pytest.approx(4.61, abs=0.4)


def test_threshold_sets_are_ordered_and_recorded(make_json: Callable[..., Path]) -> None:
    path = make_json(ra_deg=10.0, dec_deg=0.0, sigma_deg=0.4)
    areas = {}
    for name in ("wilks", "calibrated"):
        analysis = analyze_path(path, name)
        assert analysis.thresholds.name == name
        assert analysis.to_dict()["thresholds"]["name"] == name
        assert analysis.region_50.threshold_set == analysis.region_90.threshold_set == name
        areas[name] = analysis.area_90_deg2
    assert areas["wilks"] < areas["calibrated"]


def test_region_pixels_match_the_fine_map(make_json: Callable[..., Path]) -> None:
    """The multi-order shortcut equals thresholding the full finest-nside map."""
    analysis = analyze_path(make_json(ra_deg=77.0, dec_deg=-60.0, sigma_deg=0.8), "calibrated")
    ts = flat_map_values(analysis, "2DLLH")
    assert np.nanmin(ts) == 0.0
    for region in (analysis.region_50, analysis.region_90):
        inside = ts <= region.two_delta_llh_level
        assert inside.sum() == region.n_fine_pixels
        pixel_area = 4 * math.pi / ts.size * (180 / math.pi) ** 2
        assert region.area_deg2 == pytest.approx(inside.sum() * pixel_area, rel=1e-12)


def test_contours_enclose_the_region(make_json: Callable[..., Path]) -> None:
    analysis = analyze_path(make_json(ra_deg=180.0, dec_deg=0.0, sigma_deg=1.0), "wilks")
    contour = analysis.region_90.contours[0]
    # closed line
    assert contour.ra_deg[0] == pytest.approx(contour.ra_deg[-1])
    assert contour.dec_deg[0] == pytest.approx(contour.dec_deg[-1])
    # planar shoelace area (deg^2, near the equator) close to the pixel area
    x, y = contour.ra_deg, contour.dec_deg
    shoelace = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    assert shoelace == pytest.approx(analysis.region_90.area_deg2, rel=0.05)


def test_skymist_draws_pandel_mpe_regions_at_the_levels_skyscan_calibrated() -> None:
    """The 50% / 90% levels skymist applies to a pandel_mpe scan are the ones ``skyscan calibrate`` wrote
    (shipped with skyscan): a recalibration that changes them must change skymist's set too."""
    from skymist.skymap.model import threshold_set
    from skyscan.thresholds import load_threshold_set

    shipped, applied = load_threshold_set(), threshold_set("pandel_mpe")
    assert (applied.level_50, applied.level_90) == (shipped.level_50, shipped.level_90)
    coverage = shipped.record["coverage_held_out"]["90"]
    assert f"{round(100 * coverage['fraction'])}% of {coverage['events']} held-out" in applied.description
