"""The regions as the picture draws them: finest pixels, the stated sky, no coarse pixels' steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import healpy as hp
import numpy as np
import pytest
from numpy.typing import NDArray

from skymist.skymap.analysis import SkymapAnalysis, analyze_path
from skymist.skymap.drawn_region import DrawnRegion, drawn_region
from skymist.skymap.errorbox import ra_offset_deg, region_fine_pixels
from skymist.skymap.healpix import nest_to_radec_deg
from skymist.skymap.model import Region
from tests.skymap.skymap_synth import gaussian_llh_layers, skyreader_doc, write_json

FINE_PIXEL_DEG = math.degrees(hp.nside2resol(512))  # ~0.115 deg
COARSE_PIXEL_DEG = math.degrees(hp.nside2resol(64))  # ~0.92 deg


def _enclosed_area_deg2(region: Region, ra0_deg: float) -> float:
    """Area inside the region's lines in the (equal-area) sinusoidal projection around ``ra0_deg``."""
    total = 0.0
    for line in region.contours:
        x = (line.ra_deg - ra0_deg) * np.cos(np.radians(line.dec_deg))
        y = line.dec_deg
        total += 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
    return total


def _regions(analysis: SkymapAnalysis) -> list[tuple[Region, NDArray[np.bool_]]]:
    return [(analysis.region_50, analysis.mask_50), (analysis.region_90, analysis.mask_90)]


def test_the_drawn_regions_of_the_real_scan_cover_the_stated_sky(real_npz: Path) -> None:
    analysis = analyze_path(real_npz, "calibrated")
    moc = analysis.multiorder
    best = moc.best_fit
    reshaped = 0
    for region, mask in _regions(analysis):
        stated = np.sort(region_fine_pixels(moc, mask))
        drawn = drawn_region(moc, mask)
        # the same sky: the same area (the numbers published), mostly the same pixels
        assert drawn.area_deg2 == pytest.approx(region.area_deg2, rel=0.01)
        overlap = np.intersect1d(stated, drawn.fine_nest).size / stated.size
        assert overlap >= 0.9, f"{region.containment}: drawn covers {overlap:.1%} of the stated pixels"
        # where the scan was finest, the drawn region is the stated one
        finest = stated[moc.source_nside[moc.lookup_fine_nest(stated)] == moc.max_nside]
        assert drawn.contains(finest).all()
        reshaped += stated.size - finest.size
        # inside the published box
        ra, dec = nest_to_radec_deg(moc.max_nside, drawn.fine_nest)
        dra = ra_offset_deg(ra, best.ra_deg)
        box = region.box
        assert (dra >= -box.ra_minus_deg - 1e-9).all() and (dra <= box.ra_plus_deg + 1e-9).all()
        assert (dec >= best.dec_deg - box.dec_minus_deg - 1e-9).all()
        assert (dec <= best.dec_deg + box.dec_plus_deg + 1e-9).all()
        # the lines the picture draws enclose the stated area
        assert _enclosed_area_deg2(region, best.ra_deg) == pytest.approx(region.area_deg2, rel=0.01)
    assert reshaped > 0, "the real 90% region holds nside-64 pixels: the test must reshape some"


def _distance_deg(
    ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64], ra0: float, dec0: float
) -> NDArray[np.float64]:
    centre = hp.ang2vec(math.radians(90.0 - dec0), math.radians(ra0))
    vec = np.asarray(hp.ang2vec(np.radians(90.0 - dec_deg), np.radians(ra_deg)))
    result: NDArray[np.float64] = np.degrees(np.arccos(np.clip(vec @ centre, -1.0, 1.0)))
    return result


def _outline_band_deg(ra0: float, dec0: float, pixels: DrawnRegion) -> float:
    """Radial width of the outline of a pixel set around a centre: the farthest pixel inside minus
    the nearest pixel outside (about one pixel for a round set of such pixels)."""
    inside_r = _distance_deg(*nest_to_radec_deg(pixels.max_nside, pixels.fine_nest), ra0, dec0)
    centre = hp.ang2vec(math.radians(90.0 - dec0), math.radians(ra0))
    around = np.asarray(
        hp.query_disc(pixels.max_nside, centre, math.radians(inside_r.max()), nest=True), dtype=np.int64
    )
    outside = around[~pixels.contains(around)]
    outside_r = _distance_deg(*nest_to_radec_deg(pixels.max_nside, outside), ra0, dec0)
    return float(inside_r.max() - outside_r.min())


def test_a_region_of_coarse_pixels_is_drawn_round(tmp_path: Path) -> None:
    """A round 90% region scanned only at nside 64 (the nside-512 patch is smaller than it): the
    stated pixels have the coarse diamonds' steps; the drawn ones are round to a finest pixel."""
    ra0, dec0, sigma = 120.0, 10.0, 1.5
    layers = gaussian_llh_layers(ra0, dec0, sigma, radii_deg=(0.0, 12.0, 1.5))
    analysis = analyze_path(write_json(skyreader_doc(layers), tmp_path / "coarse.json"), "wilks")
    moc = analysis.multiorder
    region, mask = analysis.region_90, analysis.mask_90
    stated = DrawnRegion(moc.max_nside, np.sort(region_fine_pixels(moc, mask)), region.box)
    drawn = drawn_region(moc, mask)
    assert _outline_band_deg(ra0, dec0, stated) > 0.4 * COARSE_PIXEL_DEG  # the steps are there
    assert _outline_band_deg(ra0, dec0, drawn) < 1.5 * FINE_PIXEL_DEG
    assert drawn.area_deg2 == pytest.approx(region.area_deg2, rel=0.01)
    # the line is the Wilks circle d = sigma sqrt(4.61) to a finest pixel
    (line,) = region.contours
    d = _distance_deg(line.ra_deg, line.dec_deg, ra0, dec0)
    radius = sigma * math.sqrt(4.61)
    assert np.abs(d - radius).max() < 1.25 * FINE_PIXEL_DEG
    assert _enclosed_area_deg2(region, ra0) == pytest.approx(region.area_deg2, rel=0.01)


def test_a_region_of_finest_pixels_is_drawn_as_stated(make_json: Callable[..., Path]) -> None:
    analysis = analyze_path(make_json(ra_deg=30.0, dec_deg=-40.0, sigma_deg=0.5), "wilks")
    moc = analysis.multiorder
    for region, mask in _regions(analysis):
        stated = np.sort(region_fine_pixels(moc, mask))
        assert (moc.source_nside[moc.lookup_fine_nest(stated)] == 512).all()
        np.testing.assert_array_equal(drawn_region(moc, mask).fine_nest, stated)
        assert _enclosed_area_deg2(region, analysis.ra_deg) == pytest.approx(region.area_deg2, rel=0.01)
