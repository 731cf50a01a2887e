"""Regions as IVOA MOCs: every region MOC of a record read back by mocpy; the region query (``POST
/regions``) answers exactly the alerts whose 90% region a survey footprint touches, here one touching
IceCube-220524A's region degrees from its best fit; MOCs given as FITS, as ASCII, or as a file of the
archive (never fetched from the network); the catalogue's coverage MOC."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import astropy.units as u
import healpy as hp
import numpy as np
import pytest
import requests
from astropy.coordinates import Latitude, Longitude
from astropy.io import fits
from astropy.io.votable import parse_single_table
from mocpy import MOC

from skymist.archive.site import COVERAGE_FILE, write_site
from skymist.archive.verify import verify_record
from skymist.runtime.http_app import HttpParts, create_http_app
from tests.archive.support import localize_first_real_alert, settings_for
from tests.support.http_server import ServedApp

BEST_FIT = (47.2, -3.28)  # IceCube-220524A's refined best fit (IceCat-1)


def separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def fits_bytes(moc: MOC) -> bytes:
    out = io.BytesIO()
    moc.serialize(format="fits").writeto(out)
    return out.getvalue()


def names(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    table = parse_single_table(io.BytesIO(answer.content)).to_table()
    return sorted(str(name) for name in table["NAME"])


def contains(moc: MOC, ra: float, dec: float) -> bool:
    return bool(moc.contains_lonlat(Longitude([ra], u.deg), Latitude([dec], u.deg))[0])


@pytest.fixture
def localized(app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes) -> Any:
    """Both real alerts sent, IceCube-220524A localized with the real scan and Rev 1 sent."""
    app = app_factory(**settings_for(tmp_path))
    localize_first_real_alert(app, shared_dir, real_scan_json)
    return app


@pytest.mark.slow
def test_every_region_moc_of_the_record_reads_back_in_mocpy(localized: Any) -> None:
    app = localized
    folder = app.settings.archive_root / "IceCube-220524A"
    index = json.loads((folder / "data" / "record.json").read_bytes())
    [localization] = index["localizations"]
    regions = {entry["credibility"]: entry for entry in index["regions"]}
    assert sorted(regions) == [50, 90]
    mocs = {}
    for credibility, entry in regions.items():
        assert entry["localization_id"] == localization["localization_id"]
        path = folder / "data" / entry["file"]
        with fits.open(path) as hdus:  # MOC 2.0 FITS, as the standard names its cards
            header = hdus[1].header
            assert (
                header["MOCVERS"] == "2.0"
                and header["MOCDIM"] == "SPACE"
                and header["ORDERING"] in ("NUNIQ", "RANGE")
            )
            assert header["COORDSYS"] == "C" and header["MOCORD_S"] == 9  # the flat map's nside 512
        mocs[credibility] = MOC.from_fits(str(path))
    numbers = json.loads((folder / "data" / localization["file"]).read_bytes())
    for credibility, moc in mocs.items():
        area = moc.sky_fraction * 4 * math.pi * (180 / math.pi) ** 2
        assert area == pytest.approx(numbers[f"area_{credibility}_deg2"], rel=0.05), credibility
        assert contains(moc, *BEST_FIT)
    assert mocs[50].difference(mocs[90]).empty()  # the 50% region lies inside the 90% one
    assert not mocs[90].difference(mocs[50]).empty()
    assert verify_record(folder) == []  # listed in the index, the RO-Crate and the bag
    crate = json.loads((folder / "data" / "ro-crate-metadata.json").read_bytes())
    described = {entity["@id"]: entity for entity in crate["@graph"]}
    assert described[regions[90]["file"]]["encodingFormat"] == "application/fits"
    other = app.settings.archive_root / next(
        p.name for p in app.settings.archive_root.iterdir() if p.is_dir() and p.name != "IceCube-220524A"
    )
    assert json.loads((other / "data" / "record.json").read_bytes())["regions"] == []  # prompt only


@pytest.mark.slow
def test_region_query_returns_exactly_the_alerts_a_footprint_touches(localized: Any) -> None:
    app = localized
    folder = app.settings.archive_root / "IceCube-220524A"
    region90 = MOC.from_fits(str(folder / "data" / "regions" / "localization-1-90.moc.fits"))
    # a survey footprint that touches the 90% region at its cell farthest from the best fit, and
    # nowhere near the best fit: a small field centred just outside that cell
    nested = np.asarray(region90.flatten(), dtype=np.int64)
    nside = 1 << int(region90.max_order)
    ras, decs = hp.pix2ang(nside, nested, nest=True, lonlat=True)
    far = int(np.argmax([separation_deg(ra, dec, *BEST_FIT) for ra, dec in zip(ras, decs, strict=True)]))
    edge_ra, edge_dec = float(ras[far]), float(decs[far])
    assert separation_deg(edge_ra, edge_dec, *BEST_FIT) > 2.5
    away_ra = edge_ra + 0.3 * (edge_ra - BEST_FIT[0]) / separation_deg(edge_ra, edge_dec, *BEST_FIT)
    away_dec = edge_dec + 0.3 * (edge_dec - BEST_FIT[1]) / separation_deg(edge_ra, edge_dec, *BEST_FIT)
    radius = separation_deg(away_ra, away_dec, edge_ra, edge_dec) + 0.02
    footprint = MOC.from_cone(
        lon=Longitude(away_ra, u.deg), lat=Latitude(away_dec, u.deg), radius=radius * u.deg, max_depth=12
    )
    assert not footprint.intersection(region90).empty() and not contains(footprint, *BEST_FIT)
    miss = MOC.from_cone(lon=Longitude(200, u.deg), lat=Latitude(40, u.deg), radius=5 * u.deg, max_depth=10)
    prompt_only = MOC.from_cone(
        lon=Longitude(138.6545, u.deg), lat=Latitude(0.1418, u.deg), radius=0.2 * u.deg, max_depth=10
    )

    parts = HttpParts(ops=False, cone_search=True, catalogue=False, console=False)
    with ServedApp(create_http_app(app, parts)) as served:
        url = f"{served.url}/regions"
        other = names(requests.post(url, data=fits_bytes(prompt_only), timeout=30))
        assert len(other) == 1 and other != ["IceCube-220524A"]
        answer = requests.post(url, data=fits_bytes(footprint), timeout=30)
        assert names(answer) == ["IceCube-220524A"]  # the far edge of its region: it, and no other
        assert answer.headers["content-type"].startswith("application/x-votable+xml")
        ascii_moc = footprint.to_string(format="ascii").encode()
        assert names(requests.post(url, data=ascii_moc, timeout=30)) == ["IceCube-220524A"]
        assert names(requests.post(url, data=fits_bytes(miss), timeout=30)) == []
        both = footprint.union(prompt_only)
        assert names(requests.post(url, data=fits_bytes(both), timeout=30)) == sorted(
            ["IceCube-220524A", *other]
        )
        # a MOC file of the archive, by file: URL or by its path in the archive
        region_file = folder / "data" / "regions" / "localization-1-90.moc.fits"
        by_url = requests.post(url, params={"url": region_file.as_uri()}, timeout=30)
        assert names(by_url) == ["IceCube-220524A"]
        relative = "IceCube-220524A/data/regions/localization-1-90.moc.fits"
        assert names(requests.post(url, params={"url": relative}, timeout=30)) == ["IceCube-220524A"]
        for params, message in (
            ({"url": "https://example.org/footprint.fits"}, "nothing is fetched from the network"),
            ({"url": "file:///etc/passwd"}, "not a file inside the archive"),
            ({"url": "../../etc/passwd"}, "not a file inside the archive"),
            ({}, "no MOC"),
        ):
            refused = requests.post(url, params=params, timeout=30)
            assert refused.status_code == 400 and 'name="Error"' in refused.text, params
            assert message in refused.text, (params, refused.text)
        garbage = requests.post(url, data=b"\x00\x01 not a moc", timeout=30)
        assert garbage.status_code == 400 and "neither MOC FITS nor" in garbage.text

    # the catalogue's coverage MOC: the union of every alert's 90% region
    write_site(app.settings, app.sessions)
    coverage = MOC.from_fits(str(app.settings.archive_root / COVERAGE_FILE))
    assert region90.difference(coverage).empty()
    assert contains(coverage, 138.6545, 0.1418) and not contains(coverage, 200.0, 40.0)
