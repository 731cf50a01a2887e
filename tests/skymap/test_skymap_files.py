"""Skymap files: flat and multi-order FITS (headers, normalisation, round trip), PNG, atomic writes."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

from skymist.cli.main import main as skymist_main
from skymist.files import write_atomic
from skymist.skymap.analysis import SkymapAnalysis, analyze_path
from skymist.skymap.convert import metadata_from_event_message
from skymist.skymap.fits_flat import read_flat_fits, write_flat_fits
from skymist.skymap.fits_moc import read_moc_fits, write_moc_fits
from skymist.skymap.picture import ComparisonPosition, render_png
from skymist.skymap.products import write_products

HEADER_KEYS = (
    "RUNID",
    "EVENTID",
    "DATE-OBS",
    "MJD-OBS",
    "RA",
    "DEC",
    *(f"{c}_ERR_{s}_{p}" for p in ("50", "90") for c in ("RA", "DEC") for s in ("PLUS", "MINUS")),
    "CONTOUR_AREA_50",
    "CONTOUR_AREA_90",
    "THRESHOLD_SET",
)


@pytest.fixture(scope="module")
def real_analysis(real_npz: Path, real_event: Path) -> SkymapAnalysis:
    metadata = metadata_from_event_message(json.loads(real_event.read_bytes()))
    return analyze_path(real_npz, "calibrated", metadata=metadata)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_products_of_the_real_scan(real_analysis: SkymapAnalysis, tmp_path: Path) -> None:
    products = write_products(real_analysis, tmp_path, comparison=ComparisonPosition(48.8497, -3.5219))
    written = [products.flat_fits, products.multiorder_fits, products.png, products.pdf]
    for item in written:
        assert item is not None
        assert item.path.exists() and item.path.stat().st_size == item.size_bytes > 0
        assert item.sha256 == sha256(item.path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            "run00136662.evt000035405932.neutrino_8_64_512.skymap_nside_512_llh.fits.gz",
            "run00136662.evt000035405932.neutrino_8_64_512.skymap.multiorder.fits.gz",
            "run00136662.evt000035405932.neutrino_8_64_512.skymap.png",
            "run00136662.evt000035405932.neutrino_8_64_512.skymap.pdf",
        ]
    ), "no temporary files are left behind"
    assert products.png is not None and products.pdf is not None
    _assert_publication_picture(products.png.path, products.pdf.path, "Run 136662 Event 35405932")

    for item in (products.flat_fits, products.multiorder_fits):
        header = fits.getheader(item.path, 1)
        for key in HEADER_KEYS:
            assert key in header, key
        assert header["RUNID"] == 136662 and header["EVENTID"] == 35405932
        assert header["DATE-OBS"].startswith("2022-05-24T07:41:32.18")
        assert header["MJD-OBS"] == pytest.approx(59723.32051140454, abs=1e-9)
        assert header["RA"] == pytest.approx(47.20, abs=0.02)
        assert header["DEC"] == pytest.approx(-3.28, abs=0.02)
        assert header["RA_ERR_PLUS_90"] == pytest.approx(4.75, abs=0.02)
        assert header["RA_ERR_MINUS_90"] == pytest.approx(2.46, abs=0.02)
        assert header["CONTOUR_AREA_90"] == pytest.approx(9.34, rel=0.01)
        assert header["THRESHOLD_SET"] == "calibrated"
        assert header["COORDSYS"] == "C"


def test_flat_fits_round_trip(real_analysis: SkymapAnalysis, tmp_path: Path) -> None:
    path = tmp_path / "flat.fits.gz"
    write_flat_fits(real_analysis, path)
    with gzip.open(path) as handle:  # really gzip
        assert handle.read(6) == b"SIMPLE"
    flat = read_flat_fits(path)
    assert flat.column == "2DLLH" and flat.nside == 512
    assert flat.header["ORDERING"] == "RING" and flat.header["PIXTYPE"] == "HEALPIX"
    best = hp.ang2pix(512, np.radians(90 - real_analysis.dec_deg), np.radians(real_analysis.ra_deg))
    assert flat.values[best] == 0.0
    assert int((flat.values <= 64.2).sum()) == real_analysis.region_90.n_fine_pixels == 712
    # healpy reads it as a standard map
    assert hp.read_map(path).shape == (12 * 512**2,)


def test_multiorder_fits_integrates_to_one_and_round_trips(
    real_analysis: SkymapAnalysis, tmp_path: Path
) -> None:
    path = tmp_path / "moc.fits"
    write_moc_fits(real_analysis, path)
    moc_file = read_moc_fits(path)
    assert moc_file.header["ORDERING"] == "NUNIQ"
    assert fits.getheader(path, 1)["TUNIT2"] == "sr-1"
    assert moc_file.total_probability == pytest.approx(1.0, abs=1e-12)
    # the pixels tile the sphere exactly once
    fine = (512 // moc_file.nside) ** 2
    assert fine.sum() == 12 * 512**2
    starts = np.sort(moc_file.nest * fine)
    assert np.array_equal(np.sort(moc_file.nest * fine + fine)[:-1], starts[1:])
    # same pixels and densities as the analysis
    moc = real_analysis.multiorder
    order = np.argsort(moc.uniq)
    assert np.array_equal(moc_file.uniq, moc.uniq[order])
    # the map's own 90% credible region (densest pixels first until 90% of the probability) is the
    # stated 90% region: the density is the monotone rescaling the header describes
    order = np.argsort(-moc_file.probdensity_sr, kind="stable")
    cumulative = np.cumsum((moc_file.probdensity_sr * moc_file.area_sr)[order])
    n_inside = int(np.searchsorted(cumulative, 0.9 * (1 - 1e-9))) + 1
    area = float(moc_file.area_sr[order][:n_inside].sum() * (180 / np.pi) ** 2)
    assert area == pytest.approx(real_analysis.area_90_deg2, rel=1e-6)
    assert moc_file.header["DENSITY"] == "rescaled 2dllh"
    assert moc_file.header["DENSPROB90"] == pytest.approx(0.9, abs=1e-6)


def test_hpd_flat_map_is_probability(make_json: Callable[..., Path], tmp_path: Path) -> None:
    analysis = analyze_path(make_json(ra_deg=5.0, dec_deg=70.0), "hpd")
    products = write_products(analysis, tmp_path, png=False)
    assert products.png is None
    assert "probability" in products.flat_fits.path.name
    flat = read_flat_fits(products.flat_fits.path)
    assert flat.column == "PROB"
    assert flat.header["TUNIT1"] == "pix-1"
    assert flat.values.sum() == pytest.approx(1.0, abs=1e-5)
    assert read_moc_fits(products.multiorder_fits.path).total_probability == pytest.approx(1.0, abs=1e-12)


def _assert_publication_picture(png: Path, pdf: Path, *texts: str) -> None:
    """A 9 x 9 in picture at 150 dpi (the PNG says so in its pHYs chunk), and the same as a valid
    one-page PDF whose text carries ``texts``."""
    from PIL import Image
    from pypdf import PdfReader

    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (1350, 1350)
        dpi = image.info["dpi"]
        assert dpi[0] == pytest.approx(150, abs=0.1) and dpi[1] == pytest.approx(150, abs=0.1)
    reader = PdfReader(pdf, strict=True)
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (648.0, 648.0)  # 9 in
    text = page.extract_text()
    for expected in texts:
        assert expected in text, expected


@pytest.mark.slow
def test_png_without_comparison_and_unknown_metadata(make_json: Callable[..., Path], tmp_path: Path) -> None:
    analysis = analyze_path(make_json(), "wilks")
    png, pdf = tmp_path / "map.png", tmp_path / "map.pdf"
    png.write_bytes(render_png(analysis))
    pdf.write_bytes(render_png(analysis, image_format="pdf"))
    _assert_publication_picture(png, pdf, f"{analysis.area_90_deg2:.2f} deg")


def test_cli_writes_files(real_npz: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "pics" / "map.png"
    argv = ["skymap", "analyze", str(real_npz), "--json", "--fits", str(tmp_path / "fits"), "--png", str(png)]
    code = skymist_main([*argv, "--rev0", "48.8497,-3.5219"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    for name in ("flat_fits", "multiorder_fits", "png", "pdf"):
        info = doc["files"][name]
        assert sha256(Path(info["path"])) == info["sha256"]
    assert doc["files"]["pdf"]["path"] == str(png.with_suffix(".pdf"))
    assert doc["comparison"]["separation_deg"] == pytest.approx(1.67, abs=0.02)


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    first = write_atomic(target, b"old")
    assert first.sha256 == hashlib.sha256(b"old").hexdigest()

    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
