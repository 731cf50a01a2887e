"""The gamma-ray catalogue cross-match on the real scan, with a small table in 4FGL's column layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skymist.circulars.catalogue import CatalogueError, crossmatch, load_catalogue
from skymist.skymap.analysis import analyze_path


def write_4fgl(path: Path, rows: list[tuple[str, float, float]]) -> Path:
    from astropy.io import fits

    names, ra, dec = zip(*rows, strict=True)
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="Source_Name", format="18A", array=np.array(names)),
            fits.Column(name="RAJ2000", format="E", unit="deg", array=np.array(ra)),
            fits.Column(name="DEJ2000", format="E", unit="deg", array=np.array(dec)),
            fits.Column(name="CLASS1", format="5A", array=np.array(["bll"] * len(rows))),
        ],
        name="LAT_Point_Source_Catalog",
    )
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    return path


def test_sources_inside_the_90_region_nearest_first(real_npz: Path, tmp_path: Path) -> None:
    analysis = analyze_path(real_npz, "calibrated")  # IceCube-220524A: 9.34 deg2 around RA 47.20, Dec -3.28
    path = write_4fgl(
        tmp_path / "gll_psc_small.fit",
        [
            ("4FGL J0312.0-0400", 48.00, -4.00),  # inside, 1.07 deg away
            ("4FGL J0309.0-0318", 47.25, -3.30),  # inside, at the best fit
            ("4FGL J0400.0+1000", 60.00, 10.00),  # far away
        ],
    )
    match = crossmatch(analysis, load_catalogue(path), "Fermi 4FGL-DR4")
    assert [s.name for s in match.inside] == ["4FGL J0309.0-0318", "4FGL J0312.0-0400"]
    assert match.nearest is not None and match.nearest.name == "4FGL J0309.0-0318"
    assert match.inside[0].distance_deg < match.inside[1].distance_deg


def test_none_inside_names_the_nearest(real_npz: Path, tmp_path: Path) -> None:
    analysis = analyze_path(real_npz, "calibrated")
    path = write_4fgl(
        tmp_path / "far.fit", [("4FGL J0400.0+1000", 60.0, 10.0), ("4FGL J0300.0+0500", 45.0, 5.0)]
    )
    match = crossmatch(analysis, load_catalogue(path), "Fermi 4FGL-DR4")
    assert match.inside == () and match.nearest is not None and match.nearest.name == "4FGL J0300.0+0500"


def test_a_table_without_4fgl_columns_is_named(tmp_path: Path) -> None:
    from astropy.io import fits

    path = tmp_path / "other.fit"
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.BinTableHDU.from_columns([fits.Column(name="RA", format="E", array=np.zeros(1))]),
        ]
    ).writeto(path)
    with pytest.raises(CatalogueError, match="column 'Source_Name' missing"):
        load_catalogue(path)
    with pytest.raises(CatalogueError, match="gamma_catalogue_path"):
        load_catalogue(tmp_path / "missing.fit")


def test_the_shipped_table_is_4fgl_dr4_with_its_provenance() -> None:
    from skymist.circulars.catalogue import gamma_catalogue, shipped_catalogue

    table = shipped_catalogue()
    assert gamma_catalogue(None) is table
    assert len(table.names) > 7000 and all(name.startswith("4FGL J") for name in table.names)
    assert len(table.associations) == len(table.classes) == len(table.names)
    provenance = table.provenance
    assert provenance["release"].startswith("4FGL-DR4")
    assert provenance["converted_from"] == "gll_psc_v35.fit"
    assert len(provenance["sha256"]) == 64 and int(provenance["rows"]) == len(table.names)


def test_ic220524a_names_what_an_astropy_query_finds_in_its_90_region(real_npz: Path, tmp_path: Path) -> None:
    """The sources the Circular names for IceCube-220524A are those an astropy cone query of the shipped
    table finds inside the 90% region, read back from the written flat FITS map (2DLLH <= 64.2)."""
    import astropy.units as u
    import healpy as hp
    from astropy.coordinates import SkyCoord
    from astropy.io import ascii as astropy_ascii
    from astropy.io import fits

    from skymist.circulars.catalogue import SHIPPED_FILE, shipped_catalogue
    from skymist.skymap.products import write_fits_products

    analysis = analyze_path(real_npz, "calibrated")
    match = crossmatch(analysis, shipped_catalogue(), "Fermi 4FGL-DR4")

    shipped = Path(__file__).resolve().parents[2] / "skymist" / "circulars" / "data" / SHIPPED_FILE
    table = astropy_ascii.read(str(shipped), format="csv", comment="#")  # astropy opens the gzip itself
    sources = SkyCoord(table["ra_deg"] * u.deg, table["dec_deg"] * u.deg)
    best = SkyCoord(analysis.best_fit.ra_deg * u.deg, analysis.best_fit.dec_deg * u.deg)
    cone = sources.separation(best) < 10 * u.deg  # the 90% box is +4.75/-2.46 x +/-0.82 deg
    flat, _moc = write_fits_products(analysis, tmp_path)
    with fits.open(flat.path) as hdus:
        header = hdus[1].header
        two_dllh = np.asarray(hdus[1].data["2DLLH"], dtype=np.float64).ravel()
        nside, nested = int(header["NSIDE"]), header["ORDERING"] == "NESTED"
    ra, dec = np.asarray(table["ra_deg"][cone], float), np.asarray(table["dec_deg"][cone], float)
    pixels = hp.ang2pix(nside, ra, dec, lonlat=True, nest=nested)
    inside = set(np.asarray(table["name"][cone])[two_dllh[pixels] <= 64.2])
    assert {s.name for s in match.inside} == inside
    nearest = str(table["name"][int(np.argmin(sources.separation(best).deg))])
    assert match.nearest is not None and match.nearest.name == nearest
    assert cone.sum() > 0  # the query had sources to decide on (4FGL-DR4 has none inside this region)


def test_refresh_converts_a_release_reproducibly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from skymist.cli.main import main as skymist_main

    fits_file = write_4fgl(
        tmp_path / "gll_psc_v99.fit",
        [("4FGL J0309.0-0318", 47.25, -3.30), ("4FGL J0400.0+1000", 60.0, 10.0)],
    )
    out = tmp_path / "gamma.csv.gz"
    argv = ["catalogue", "gamma", "refresh", str(fits_file), "--release", "4FGL-DR9 (v99)", "--output"]
    assert skymist_main([*argv, str(out)]) == 0
    assert "2 sources of 4FGL-DR9 (v99) written to" in capsys.readouterr().out
    table = load_catalogue(out)
    assert table.names == ("4FGL J0309.0-0318", "4FGL J0400.0+1000")
    assert table.ra_deg.tolist() == [47.25, 60.0] and table.classes == ("bll", "bll")
    assert table.provenance["release"] == "4FGL-DR9 (v99)"
    assert table.provenance["converted_from"] == "gll_psc_v99.fit"
    again = tmp_path / "again.csv.gz"
    assert skymist_main([*argv, str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()  # byte-reproducible (gzip without a time stamp)
    capsys.readouterr()
    assert skymist_main(["catalogue", "gamma", "refresh", str(tmp_path / "none.fit"), "--release", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none.fit" in err
