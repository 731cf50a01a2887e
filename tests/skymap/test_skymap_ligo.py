"""The published maps read back with another project's tool: ligo.skymap's ``read_sky_map`` and
``crossmatch`` find the stated 90% (and 50%) areas for every threshold set, on the real scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from skymist.skymap.analysis import analyze_path
from skymist.skymap.fits_flat import write_flat_fits
from skymist.skymap.fits_moc import write_moc_fits
from skymist.skymap.model import THRESHOLD_SETS

ligo_io = pytest.importorskip("ligo.skymap.io")
ligo_post = pytest.importorskip("ligo.skymap.postprocess")


@pytest.mark.parametrize("thresholds", sorted(THRESHOLD_SETS))
def test_ligo_skymap_credible_areas_are_the_stated_ones(
    real_npz: Path, tmp_path: Path, thresholds: str
) -> None:
    analysis = analyze_path(real_npz, thresholds)  # no event: DATE-OBS / MJD-OBS unknown
    path = tmp_path / f"{thresholds}.multiorder.fits"
    write_moc_fits(analysis, path)
    skymap = ligo_io.read_sky_map(str(path), moc=True)
    result = ligo_post.crossmatch(skymap, contours=(0.5, 0.9))
    area_50, area_90 = (float(a) for a in result.contour_areas)
    header_90 = round(analysis.area_90_deg2, 4)
    print(
        f"\n{thresholds}: ligo.skymap 90% area {area_90:.3f} deg2, CONTOUR_AREA_90 {header_90:.3f} deg2 "
        f"({100 * (area_90 / header_90 - 1):+.2f}%); 50% {area_50:.3f} vs {analysis.area_50_deg2:.3f}"
    )
    assert area_90 == pytest.approx(analysis.area_90_deg2, rel=0.05)
    assert area_50 == pytest.approx(analysis.area_50_deg2, rel=0.05)


def test_flat_probability_map_reads_back_with_the_same_regions(real_npz: Path, tmp_path: Path) -> None:
    analysis = analyze_path(real_npz, "calibrated")
    path = tmp_path / "flat.fits"
    write_flat_fits(analysis, path, "PROB")
    skymap = ligo_io.read_sky_map(str(path), moc=True)
    area_90 = float(ligo_post.crossmatch(skymap, contours=(0.9,)).contour_areas[0])
    assert area_90 == pytest.approx(analysis.area_90_deg2, rel=0.05)


def test_unknown_date_is_left_out_not_written_empty(real_npz: Path, tmp_path: Path) -> None:
    from astropy.io import fits

    analysis = analyze_path(real_npz, "calibrated")
    path = tmp_path / "moc.fits"
    write_moc_fits(analysis, path)
    header = fits.getheader(path, 1)
    assert "DATE-OBS" not in header and "MJD-OBS" not in header
    ligo_io.read_sky_map(str(path), moc=True)  # used to fail in iso8601_to_gps on an empty DATE-OBS
