"""The catalogue's numbers and files: a 90% region holding a pole spans every RA (with its flag), the
circle's RA half-width is the sphere's, and the FITS and VOTable exports are read by astropy (every
warning an error) and by STILTS without a warning, with UCDs and units."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from astropy.io.votable import parse_single_table
from astropy.table import Table
from sqlalchemy import update

from skymist.app import App
from skymist.archive.catalogue import (
    COLUMNS,
    _box_holds_pole,
    catalogue_rows,
    circle_ra_half_width,
    export,
    polar_ring_dec_deg,
    snapshots,
)
from skymist.store.models import AlertRevision
from tests.support.stilts import needs_stilts, read_warnings, stilts, votlint


def test_circle_ra_half_width_and_the_poles() -> None:
    # small circles: r / cos(dec); near the pole the sphere's asin(sin r / cos dec), larger
    assert circle_ra_half_width(0.0, 1.0) == pytest.approx(1.0)
    assert circle_ra_half_width(60.0, 1.0) == pytest.approx(2.0, rel=1e-3)
    near = circle_ra_half_width(-89.4, 0.5)
    assert near is not None and near > 0.5 / math.cos(math.radians(89.4))
    assert circle_ra_half_width(-89.4, 1.5) is None  # holds the south pole
    assert circle_ra_half_width(89.0, 1.0) is None  # touches the north pole
    ring = polar_ring_dec_deg(512)
    assert 89.9 < ring < 89.95
    assert _box_holds_pole(-89.5, 0.2, 0.45, "8,64,512")  # reaches the pixels around the pole
    assert not _box_holds_pole(-89.5, 0.2, 0.3, "8,64,512")
    assert _box_holds_pole(89.0, 0.99, 0.5, "8,64,512")
    assert not _box_holds_pole(10.0, 2.0, 2.0, "8,64,512")


def _pole_alert(app: Any) -> None:
    """The store says: the prompt-only alert's 90% circle is 1.5 deg around Dec -89.4."""
    with app.sessions() as session, session.begin():
        session.execute(
            update(AlertRevision)
            .where(AlertRevision.revision == 0, AlertRevision.ra_deg.between(138.6, 138.7))
            .values(dec_deg=-89.4, err90_deg=1.5)
        )


@pytest.mark.slow
def test_a_region_holding_the_pole_spans_every_ra_in_every_format(real_alerts_app: App) -> None:
    app = real_alerts_app
    _pole_alert(app)
    with app.sessions() as session:
        rows = catalogue_rows(app.settings, snapshots(session))
    [polar] = [r for r in rows if r["DEC"] == -89.4]
    [other] = [r for r in rows if r["DEC"] != -89.4]
    assert polar["RA_FULL_RANGE"] is True and polar["RA_ERR_PLUS"] == polar["RA_ERR_MINUS"] == 180.0
    assert other["RA_FULL_RANGE"] is False and other["RA_ERR_PLUS"] < 180.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_fits = Table.read(io.BytesIO(export(rows, "fits")), hdu="ALERTS")
        from_votable = parse_single_table(io.BytesIO(export(rows, "votable")), verify="exception").to_table()
    for table in (from_fits, from_votable):
        [i] = [n for n, dec in enumerate(table["DEC"]) if float(dec) == -89.4]
        assert bool(table["RA_FULL_RANGE"][i]) and float(table["RA_ERR_PLUS"][i]) == 180.0
    csv_text = export(rows, "csv").decode()
    assert "180.00,180.00" in csv_text.replace('"', "")


@needs_stilts
@pytest.mark.slow
def test_stilts_reads_the_catalogue_fits_and_votable_without_a_warning(
    real_alerts_app: App, tmp_path: Path
) -> None:
    app = real_alerts_app
    with app.sessions() as session:
        rows = catalogue_rows(app.settings, snapshots(session), all_revisions=True)
    (tmp_path / "c.fits").write_bytes(export(rows, "fits"))
    (tmp_path / "c.vot").write_bytes(export(rows, "votable"))
    with fits.open(tmp_path / "c.fits") as hdus:  # UCDs beside the units
        header = hdus["ALERTS"].header
        ucds = {header[f"TTYPE{i}"]: header.get(f"TUCD{i}") for i in range(1, header["TFIELDS"] + 1)}
    assert all(ucds.values()) and len(ucds) == len(COLUMNS), ucds
    assert votlint(tmp_path / "c.vot") == ""
    assert read_warnings(tmp_path / "c.fits", "fits") == ""
    assert read_warnings(tmp_path / "c.vot", "votable") == ""
    for name, fmt in (("c.fits", "fits"), ("c.vot", "votable")):  # STILTS reads the UCDs of both
        meta = stilts("tpipe", f"in={tmp_path / name}", f"ifmt={fmt}", "cmd=meta", "omode=out", "ofmt=csv")
        assert "pos.eq.ra;meta.main" in meta.stdout and "phys.energy;phys.particle.neutrino" in meta.stdout
