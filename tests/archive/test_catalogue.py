"""``skymist localize`` with the shared real scan, then ``skymist catalogue export``: IceCat-1's row of
IceCube-220524A, in every format, with units and descriptions."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.io.votable import parse_single_table
from astropy.table import Table
from sqlalchemy import select

from skymist.cli.main import main
from skymist.console.views import alert_detail
from skymist.store.models import Alert
from skymist.store.product_models import AuditEntry, Localization
from skymist.store.scan_models import Scan
from tests.archive.support import replay_real_alerts, settings_for

NPZ = "run00136662-evt000035405932-BRONZE-8_64_512.npz"


@pytest.mark.slow
def test_localize_real_scan_then_export_gives_icecat1_row(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(**settings_for(tmp_path))
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    replay_real_alerts(app, shared_dir)
    npz = shared_dir / "data" / "real" / NPZ
    cli = ["--database-url", database_url]

    assert (
        main([*cli, "localize", "IceCube-220524A", "--result", str(npz), "--yes", "--by", "carol", "--json"])
        == 0
    )
    done = json.loads(capsys.readouterr().out)
    assert done["status"] == "created" and done["revision"] == 1 and not done["notices_held"]
    assert done["format"] == "legacy-npz"
    with app.sessions() as session:
        scan = session.get(Scan, done["scan_id"])
        assert scan is not None and scan.plan["imported"]["sha256"] == done["sha256"]
        [entry] = session.execute(select(AuditEntry).where(AuditEntry.action == "rev1_released")).scalars()
        assert entry.actor == "carol"
    # the same file again: the same scan, nothing new
    assert (
        main([*cli, "localize", "IceCube-220524A", "--result", str(npz), "--yes", "--by", "carol", "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["status"] == "duplicate"

    assert main([*cli, "catalogue", "export", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    print(text)
    rows = {row["NAME"]: row for row in csv.DictReader(io.StringIO(text))}
    row = rows["IceCube-220524A"]
    assert (row["RA"], row["DEC"]) == ("47.20", "-3.28")
    assert (row["RA_ERR_PLUS"], row["RA_ERR_MINUS"]) == ("4.75", "2.46")
    assert (row["DEC_ERR_PLUS"], row["DEC_ERR_MINUS"]) == ("0.82", "0.82")
    assert row["AREA_90"] == "9.34" and row["THRESHOLDS"] == "calibrated" and row["REVISION"] == "1"
    assert row["RUNID"] == "136662" and row["EVENTID"] == "35405932" and row["RETRACTED"] == "False"
    assert row["DOI"] == "10.5072/icecube.alert.136662.35405932"
    assert row["SKYMAP_FITS_URL"].endswith("multiorder.fits.gz")
    # the scan's real algorithm (localize --reco's default) and origin, as the store records them
    assert row["RECO_ALGO"] == "splinempe (imported legacy-npz scan)"
    with app.sessions() as session:
        alert = session.execute(select(Alert).where(Alert.name == "IceCube-220524A")).scalar_one()
        [scan_row] = alert_detail(session, app.settings, alert)["scans"]
        loc = session.execute(select(Localization).where(Localization.alert_id == alert.id)).scalar_one()
    assert (scan_row["reco_algo"], scan_row["revision"], scan_row["made_revision"]) == (
        "splinempe, imported legacy-npz",
        0,
        1,
    )
    assert len(rows) == 2 and rows[next(n for n in rows if n != "IceCube-220524A")]["REVISION"] == "0"

    assert main([*cli, "catalogue", "export", "--format", "csv", "--all-revisions"]) == 0
    every = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sorted((r["NAME"], r["REVISION"]) for r in every)[:2] == [
        ("IceCube-220524A", "0"),
        ("IceCube-220524A", "1"),
    ]

    for fmt, name in (("fits", "c.fits"), ("votable", "c.vot"), ("parquet", "c.parquet")):
        out = tmp_path / name
        assert main([*cli, "catalogue", "export", "--format", fmt, "--output", str(out)]) == 0
    with fits.open(tmp_path / "c.fits") as hdus:
        header = hdus["ALERTS"].header
        ra_col = header["TTYPE7"]
        assert ra_col == "RA" and header["TUNIT7"] == "deg" and "Right ascension" in header["TCOMM7"]
        assert header["TUCD7"] == "pos.eq.ra;meta.main" and header["TUCD1"] == "meta.id;meta.main"
        assert header["TUNIT17"] == "deg2"
    # every number as stored (not IceCat-1's 0.01 deg), read by astropy with every warning an error
    stored = {
        "RA": loc.ra_deg,
        "DEC": loc.dec_deg,
        "RA_ERR_PLUS": loc.ra_plus_90_deg,
        "RA_ERR_MINUS": loc.ra_minus_90_deg,
        "DEC_ERR_PLUS": loc.dec_plus_90_deg,
        "DEC_ERR_MINUS": loc.dec_minus_90_deg,
        "AREA_90": loc.area_90_deg2,
    }
    assert round(loc.ra_deg, 2) != loc.ra_deg  # the check below can tell a rounded value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_fits = Table.read(tmp_path / "c.fits", hdu="ALERTS")
        votable = parse_single_table(str(tmp_path / "c.vot"), verify="exception")
    from_votable = votable.to_table()
    parquet = pq.read_table(tmp_path / "c.parquet")
    values = parquet.to_pydict()
    for table in (from_fits, from_votable):
        [i] = [n for n, name in enumerate(table["NAME"]) if str(name) == "IceCube-220524A"]
        assert {k: float(table[k][i]) for k in stored} == stored
        assert str(table["RA"].unit) == "deg" and str(table["AREA_90"].unit) == "deg2"
        assert not bool(table["RA_FULL_RANGE"][i])
    i = values["NAME"].index("IceCube-220524A")
    assert {k: values[k][i] for k in stored} == stored
    assert all(f.ucd for f in votable.fields), [f.name for f in votable.fields if not f.ucd]
    field = next(f for f in votable.fields if f.name == "AREA_90")
    assert str(field.unit) == "deg2" and "90% region" in field.description and field.ucd == "phys.angArea"
    assert next(f for f in votable.fields if f.name == "DEC").ucd == "pos.eq.dec;meta.main"
    meta = parquet.schema.metadata[b"table_meta_yaml"].decode()
    assert "unit: deg2" in meta and "Area of the 90% region" in meta
