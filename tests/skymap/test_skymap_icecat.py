"""The real scan of IceCube-220524A must reproduce IceCat-1's published localisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skymist.cli.main import main as skymist_main
from skymist.skymap.analysis import analyze_path
from skymist.skymap.convert import convert_file, metadata_from_event_message
from skymist.skymap.model import PixelConvention, SourceFormat
from skymist.skymap.reader import read_scan

# IceCat-1 / GCN Rev 1 for run 136662 event 35405932
RA, DEC = 47.20, -3.28
RA_PLUS_90, RA_MINUS_90, DEC_PLUS_90, DEC_MINUS_90 = 4.75, 2.46, 0.82, 0.82
AREA_90 = 9.34


def check_icecat(doc: dict[str, object]) -> None:
    best = doc["best_fit"]
    assert isinstance(best, dict)
    assert best["ra_deg"] == pytest.approx(RA, abs=0.02)
    assert best["dec_deg"] == pytest.approx(DEC, abs=0.02)
    region = doc["region_90"]
    assert isinstance(region, dict)
    box = region["box"]
    assert box["ra_plus_deg"] == pytest.approx(RA_PLUS_90, abs=0.02)
    assert box["ra_minus_deg"] == pytest.approx(RA_MINUS_90, abs=0.02)
    assert box["dec_plus_deg"] == pytest.approx(DEC_PLUS_90, abs=0.02)
    assert box["dec_minus_deg"] == pytest.approx(DEC_MINUS_90, abs=0.02)
    assert region["area_deg2"] == pytest.approx(AREA_90, rel=0.01)
    assert doc["thresholds"] == {
        "name": "calibrated",
        "kind": "two_delta_llh",
        "level_50": 22.2,
        "level_90": 64.2,
        "description": doc["thresholds"]["description"],  # type: ignore[index]
        "includes_systematics": True,
    }


def test_npz_calibrated_reproduces_icecat1(real_npz: Path) -> None:
    analysis = analyze_path(real_npz, "calibrated")
    assert analysis.source_format is SourceFormat.LEGACY_NPZ
    assert analysis.pixel_convention is PixelConvention.LEGACY
    assert analysis.thresholds.name == "calibrated"
    check_icecat(analysis.to_dict(with_contours=False))
    # flat accessors carry the same numbers
    assert analysis.area_90_deg2 == analysis.region_90.area_deg2
    assert analysis.region_50.area_deg2 < analysis.region_90.area_deg2
    assert analysis.metadata.run_id == 136662 and analysis.metadata.event_id == 35405932


def test_legacy_convention_matters(real_npz: Path) -> None:
    """Read with the wrong (current) convention, the same file puts the event in the north."""
    wrong = analyze_path(real_npz, "calibrated", convention=PixelConvention.CURRENT)
    assert wrong.dec_deg == pytest.approx(-DEC, abs=0.02)
    assert wrong.convention_reason == "chosen by the caller"


def test_cli_json_prints_icecat1(real_npz: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = skymist_main(["skymap", "analyze", str(real_npz), "--thresholds", "calibrated", "--json"])
    assert code == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # exactly one JSON document
    check_icecat(doc)
    assert doc["pixel_convention"] == "legacy"
    assert doc["region_90"]["contours"], "contour polygons are part of the JSON"


def test_cli_table(real_npz: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = skymist_main(["skymap", "analyze", str(real_npz), "--rev0", "48.8497,-3.5219"])
    assert code == 0
    out = capsys.readouterr().out
    assert "47.197" in out and "-3.284" in out and "9.337" in out and "Rev 0" in out


def test_converted_json_agrees_with_npz(real_npz: Path, real_event: Path, tmp_path: Path) -> None:
    metadata = metadata_from_event_message(json.loads(real_event.read_bytes()))
    out = tmp_path / "converted.json"
    written = convert_file(real_npz, out, metadata)
    assert written.size_bytes == out.stat().st_size
    doc = json.loads(out.read_text())
    assert set(doc) == {"nside-8", "nside-64", "nside-512"}
    for key, entry in doc.items():
        assert entry["columns"] == ["index", "llh", "E_in", "E_tot", "X", "Y", "Z", "T"]
        meta = entry["metadata"]
        assert meta["nside"] == int(key.split("-")[1])
        assert meta["version"] == 1 and meta["run_id"] == 136662 and meta["event_id"] == 35405932
        assert meta["mjd"] == pytest.approx(59723.32051140454, abs=1e-9)
        assert meta["source_pixel_convention"] == "legacy"
        assert entry["data"][0][4] == "<skyreader.nan>"

    from_json = analyze_path(out, "calibrated")
    from_npz = analyze_path(real_npz, "calibrated")
    assert from_json.source_format is SourceFormat.SKYREADER_JSON
    assert from_json.pixel_convention is PixelConvention.CURRENT
    a, b = from_json.to_dict(with_contours=False), from_npz.to_dict(with_contours=False)
    for key in ("best_fit", "region_50", "region_90", "nsides", "n_scanned_pixels"):
        assert a[key] == b[key], key
    # the scans themselves are identical pixel by pixel
    scan_json, scan_npz = read_scan(out), read_scan(real_npz)
    for lj, ln in zip(scan_json.layers, scan_npz.layers, strict=True):
        assert (lj.index == ln.index).all()
        assert (lj.llh == ln.llh).all()
        assert (lj.e_tot == ln.e_tot).all()


def test_cli_convert_then_analyze(real_npz: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.json"
    assert skymist_main(["skymap", "convert", str(real_npz), str(out)]) == 0
    capsys.readouterr()
    assert skymist_main(["skymap", "analyze", str(out), "--json"]) == 0
    check_icecat(json.loads(capsys.readouterr().out))


def test_analyze_applies_the_thresholds_the_result_declares(
    real_npz: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A result whose reco declares ``region_method`` is analysed with that set, as the daemon does;
    --thresholds still overrides it, and a result that declares none gets the daemon's default."""
    plain = tmp_path / "plain.json"
    assert skymist_main(["skymap", "convert", str(real_npz), str(plain)]) == 0
    document = json.loads(plain.read_text())
    for layer in document.values():
        layer["metadata"]["region_method"] = "wilks"
    declared = tmp_path / "declared.json"
    declared.write_text(json.dumps(document))
    capsys.readouterr()

    def analyse(*argv: str) -> dict[str, object]:
        assert skymist_main(["skymap", "analyze", *argv, "--json"]) == 0
        doc: dict[str, object] = json.loads(capsys.readouterr().out)
        return doc

    by_result = analyse(str(declared))
    assert by_result["thresholds"]["name"] == "wilks"  # type: ignore[index]
    assert by_result["thresholds_chosen_by"] == "the result's metadata (region_method)"
    overridden = analyse(str(declared), "--thresholds", "calibrated")
    assert overridden["thresholds_chosen_by"] == "--thresholds"
    check_icecat(overridden)
    default = analyse(str(plain))
    assert default["thresholds_chosen_by"] == "default (the result declares no region_method)"
    check_icecat(default)
    wilks_area = by_result["region_90"]["area_deg2"]  # type: ignore[index]
    assert wilks_area < AREA_90 / 2  # 2 dllh <= 4.61 instead of 64.2: a much smaller region
    for layer in document.values():
        layer["metadata"]["region_method"] = "nonsense"
    declared.write_text(json.dumps(document))
    assert skymist_main(["skymap", "analyze", str(declared)]) == 2
    assert "nonsense" in capsys.readouterr().err
