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
