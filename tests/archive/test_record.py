"""The archive record of an alert: written by the hooks as products go out, whole and valid,
rebuilt byte for byte from the store, and a flipped byte is found and named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from skymist.archive.datacite_meta import validate_datacite
from skymist.archive.verify import verify_record
from skymist.cli.main import main
from tests.archive.support import full_alert, hashes, settings_for
from tests.support.rocrate_check import RO_CRATE_TERMS, crate_problems, non_schema_org_terms


@pytest.mark.slow
def test_record_written_by_hooks_verifies_and_rebuilds_byte_for_byte(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(**settings_for(tmp_path))
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    full_alert(app, shared_dir, real_scan_json)
    folder = app.settings.archive_root / "IceCube-220524A"

    index = json.loads((folder / "data" / "record.json").read_bytes())
    products = sorted((e["product"], e["revision"]) for e in index["sent"])
    assert products == [
        ("circular", 1),
        ("notice_json", 0),
        ("notice_json", 1),
        ("voevent", 0),
        ("voevent", 1),
    ]
    for entry in index["sent"]:  # every product's exact bytes, once
        assert entry["sent_at"] is not None and entry["delivery_ref"]
    assert [e["topic"] for e in index["inputs"]] == ["test-topic"]
    assert {e["kind"] for e in index["skymaps"]} == {"flat_fits", "multiorder_fits", "png", "pdf"}
    pdf = next(e["file"] for e in index["skymaps"] if e["kind"] == "pdf")
    assert pdf.endswith("_rev1.skymap.pdf") and (folder / "data" / pdf).read_bytes()[:5] == b"%PDF-"
    raw = (shared_dir / "data" / "real" / "run00136662-evt000035405932-BRONZE.json").read_bytes()
    assert json.loads((folder / "data" / index["inputs"][0]["file"]).read_bytes())["event"] == json.loads(raw)
    assert verify_record(folder) == []
    for name in ("datacite.json", "datacite-r0.json", "datacite-r1.json"):
        assert validate_datacite(json.loads((folder / "data" / "metadata" / name).read_bytes())) == []
    # RO-Crate 1.3 for the community validator (offline), schema.org terms only
    assert crate_problems(folder) == []
    crate = json.loads((folder / "data" / "ro-crate-metadata.json").read_bytes())
    assert crate["@context"] == "https://w3id.org/ro/crate/1.3/context"
    assert non_schema_org_terms(crate, RO_CRATE_TERMS) == []
    dataset = json.loads((folder / "data" / "metadata" / "schemaorg.jsonld").read_bytes())
    assert non_schema_org_terms(dataset) == []
    assert dataset["citation"][0] == "https://doi.org/10.3847/1538-4365/acfa95"  # IceCat-1
    place = dataset["spatialCoverage"]
    assert place["@type"] == "Place" and "geo" not in place  # the sky, not the Earth
    coordinates = {p["propertyID"]: p["value"] for p in place["additionalProperty"]}
    assert coordinates["pos.eq.ra;meta.main"] == pytest.approx(47.2, abs=0.01)
    assert coordinates["pos.eq.dec;meta.main"] == pytest.approx(-3.28, abs=0.01)
    assert place["hasMap"].endswith("/IceCube-220524A/data/regions/localization-1-90.moc.fits")

    written = hashes(folder)
    shutil.rmtree(folder)
    assert main(["--database-url", database_url, "archive", "rebuild", "IceCube-220524A"]) == 0
    assert hashes(folder) == written  # every file's sha256 again, from the store

    assert main(["--database-url", database_url, "archive", "verify"]) == 0
    capsys.readouterr()
    fits = next((folder / "data" / "skymaps").glob("*multiorder*"))
    data = bytearray(fits.read_bytes())
    data[len(data) // 2] ^= 0xFF
    fits.write_bytes(bytes(data))
    assert main(["--database-url", database_url, "archive", "verify"]) == 1
    out = capsys.readouterr().out
    print(out)
    assert f"data/skymaps/{fits.name}" in out


@pytest.mark.slow
def test_a_localization_recorded_before_the_pdf_is_archived_without_one(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy import update

    from skymist.store.product_models import Localization

    app = app_factory(**settings_for(tmp_path))
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    full_alert(app, shared_dir, real_scan_json)
    with app.sessions() as session, session.begin():  # as a row from before migration 0007 is
        session.execute(update(Localization).values(pdf_path=None, pdf_sha256=None))
    folder = app.settings.archive_root / "IceCube-220524A"
    shutil.rmtree(folder)
    assert main(["--database-url", database_url, "archive", "rebuild", "IceCube-220524A"]) == 0

    index = json.loads((folder / "data" / "record.json").read_bytes())
    assert {e["kind"] for e in index["skymaps"]} == {"flat_fits", "multiorder_fits", "png"}
    assert not list((folder / "data" / "skymaps").glob("*.pdf"))
    for entry in index["localizations"]:
        numbers = json.loads((folder / "data" / entry["file"]).read_bytes())
        assert "pdf_sha256" not in numbers and "png_sha256" in numbers
    assert verify_record(folder) == []
