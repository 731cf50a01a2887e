"""Reading scan results: formats, NaN encodings, conventions and clear errors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import healpy as hp
import numpy as np
import pytest

from skymist.cli.main import main as skymist_main
from skymist.skymap.analysis import analyze_path, analyze_scan
from skymist.skymap.errors import SkymapInputError
from skymist.skymap.model import PixelConvention, SourceFormat, threshold_set
from skymist.skymap.reader import parse_skyscan_result, read_scan
from tests.skymap.skymap_synth import gaussian_llh_layers, skyreader_doc


def small_doc(version: int = 1) -> dict[str, Any]:
    return skyreader_doc(gaussian_llh_layers(30.0, 5.0, 2.0, nsides=(4, 16), radii_deg=(0.0, 20.0)), version)


@pytest.mark.parametrize("nan", ["sentinel", "bare"])
@pytest.mark.parametrize("version", [0, 1])
def test_nan_encodings_and_versions(make_json: Callable[..., Path], nan: str, version: int) -> None:
    path = make_json(ra_deg=120.0, dec_deg=10.0, version=version, nan=nan)
    text = path.read_text()
    assert ("<skyreader.nan>" in text) == (nan == "sentinel")
    assert ("NaN" in text.replace("<skyreader.nan>", "")) == (nan == "bare")
    scan = read_scan(path)
    assert scan.data_version == version
    assert scan.source_format is SourceFormat.SKYREADER_JSON
    assert scan.pixel_convention is PixelConvention.CURRENT
    layer = scan.layers[-1]
    assert np.isnan(layer.e_in).all()
    assert (layer.x is None) == (version == 0)
    analysis = analyze_scan(scan, "wilks")
    assert analysis.ra_deg == pytest.approx(120.0, abs=0.2)
    assert analysis.dec_deg == pytest.approx(10.0, abs=0.2)


def test_nan_llh_pixels_fall_back_to_coarser_values(tmp_path: Path) -> None:
    doc = small_doc()
    rows = doc["nside-16"]["data"]
    rows[0][1] = "<skyreader.nan>"
    rows[1][1] = float("nan")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    scan = read_scan(path)
    assert np.isnan(scan.layer(16).llh).sum() == 2
    analysis = analyze_scan(scan, "wilks")
    # the multi-order map still tiles the sphere with finite values everywhere
    assert np.isfinite(analysis.multiorder.llh).all()
    assert analysis.multiorder.fine_count.sum() == 12 * 16 * 16


def test_skydriver_result_body_is_unwrapped() -> None:
    body = {"scan_id": "x", "skyscan_result": small_doc(), "is_final": True}
    scan = parse_skyscan_result(body)
    assert scan.nsides == (4, 16)
    assert scan.metadata.run_id == 123456 and scan.metadata.mjd == 60000.5
    assert scan.complete is True


def test_reference_example_result() -> None:
    path = (
        Path(__file__).resolve().parents[2].parent
        / "shared/reference/example_skyscan_result_final_nside1.json"
    )
    if not path.exists():
        pytest.skip("reference example not available")
    scan = read_scan(path)
    assert scan.nsides == (1,)
    assert scan.data_version == 1
    assert scan.metadata.run_id == 138632 and scan.metadata.event_id == 31747601
    assert len(scan.layers[0]) == 12


def test_skyreader_npz_with_header_uses_current_convention(tmp_path: Path) -> None:
    layers = gaussian_llh_layers(200.0, -40.0, 1.5, nsides=(8, 64), radii_deg=(0.0, 10.0))
    dtype = [("index", "i8"), ("llh", "f8"), ("E_in", "f8"), ("E_tot", "f8")]
    arrays: dict[str, Any] = {}
    for nside, (ring, llh) in layers.items():
        arr = np.zeros(ring.size, dtype=dtype)
        arr["index"], arr["llh"] = ring, llh
        arrays[f"nside-{nside}"] = arr
    header_dtype = [
        ("nside", "i8"),
        ("run_id", "i8"),
        ("event_id", "i8"),
        ("mjd", "f8"),
        ("event_type", "U8"),
    ]
    arrays["header"] = np.array(
        [(8, 1, 2, 60000.0, "neutrino"), (64, 1, 2, 60000.0, "neutrino")], header_dtype
    )
    with_header = tmp_path / "with.npz"
    np.savez(with_header, **arrays)
    scan = read_scan(with_header)
    assert scan.source_format is SourceFormat.SKYREADER_NPZ
    assert scan.pixel_convention is PixelConvention.CURRENT
    assert scan.metadata.event_type == "neutrino"
    assert analyze_scan(scan, "wilks").dec_deg == pytest.approx(-40.0, abs=0.5)

    # the same arrays without a header are a legacy result: Dec = theta - 90 deg
    del arrays["header"]
    legacy = tmp_path / "run00000001-evt000000002-legacy.npz"
    np.savez(legacy, **arrays)
    scan = read_scan(legacy)
    assert scan.source_format is SourceFormat.LEGACY_NPZ
    assert scan.pixel_convention is PixelConvention.LEGACY
    assert "legacy" in scan.convention_reason
    assert scan.metadata.run_id == 1 and scan.metadata.event_id == 2
    assert analyze_scan(scan, "wilks").dec_deg == pytest.approx(40.0, abs=0.5)


def test_mirror_is_an_exact_bijection() -> None:
    from skymist.skymap.healpix import mirror_ring

    for nside in (1, 8, 64):
        ring = np.arange(hp.nside2npix(nside))
        mirrored = mirror_ring(nside, ring)
        assert np.array_equal(np.sort(mirrored), ring)
        assert np.array_equal(mirror_ring(nside, mirrored), ring)
        theta, phi = hp.pix2ang(nside, ring)
        theta_m, phi_m = hp.pix2ang(nside, mirrored)
        assert np.allclose(theta_m, np.pi - theta) and np.allclose(phi_m, phi)


def _mutate(path: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = small_doc()
    path(doc)
    return doc


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("bad key", lambda d: d.__setitem__("nside-7", d.pop("nside-4")), "key", "'nside-7'"),
    (
        "columns",
        lambda d: d["nside-4"].__setitem__("columns", ["index", "llh"]),
        "nside-4.columns",
        "['index', 'llh']",
    ),
    (
        "metadata nside",
        lambda d: d["nside-4"]["metadata"].__setitem__("nside", 8),
        "nside-4.metadata.nside",
        "8",
    ),
    (
        "version",
        lambda d: d["nside-4"]["metadata"].__setitem__("version", 3),
        "nside-4.metadata.version",
        "3",
    ),
    ("row length", lambda d: d["nside-16"]["data"][5].pop(), "nside-16.data[5]", "["),
    (
        "llh text",
        lambda d: d["nside-16"]["data"][2].__setitem__(1, "abc"),
        "nside-16.data[2][1] (llh)",
        "'abc'",
    ),
    (
        "index range",
        lambda d: d["nside-4"]["data"][0].__setitem__(0, 9999),
        "nside-4.data[0][0] (index)",
        "9999",
    ),
    ("index fraction", lambda d: d["nside-4"]["data"][3].__setitem__(0, 2.5), "(index)", "2.5"),
    ("duplicate", lambda d: d["nside-4"]["data"][1].__setitem__(0, 0), "nside-4 index", "0"),
    ("extra key", lambda d: d["nside-4"].__setitem__("extra", 1), "nside-4 keys", "'extra'"),
    ("run_id type", lambda d: d["nside-4"]["metadata"].__setitem__("run_id", "x"), "metadata.run_id", "'x'"),
    (
        "run_id differs",
        lambda d: d["nside-16"]["metadata"].__setitem__("run_id", 5),
        "nside-16.metadata.run_id",
        "5",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "field", "value"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_names_field_and_value(
    tmp_path: Path, case: str, mutate: Callable[[dict[str, Any]], None], field: str, value: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_mutate(mutate)))
    with pytest.raises(SkymapInputError) as info:
        read_scan(path)
    message = str(info.value)
    assert str(path) in message
    assert field in message, message
    assert value in message, message


@pytest.mark.parametrize(
    ("doc", "field"),
    [({}, "result"), ([1, 2], "result"), ({"nside-4": []}, "nside-4")],
)
def test_malformed_top_level(doc: Any, field: str) -> None:
    with pytest.raises(SkymapInputError, match=field):
        parse_skyscan_result(doc, source="mem")


def test_all_nan_llh_is_an_error() -> None:
    doc = small_doc()
    for entry in doc.values():
        for row in entry["data"]:
            row[1] = "<skyreader.nan>"
    with pytest.raises(SkymapInputError, match="no pixel has a finite llh"):
        parse_skyscan_result(doc)


def test_not_json_and_bad_npz(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(SkymapInputError, match="not JSON"):
        read_scan(junk)
    npz = tmp_path / "bad.npz"
    arrays: dict[str, Any] = {"nside-8": np.zeros(3, dtype=[("index", "i8"), ("llh", "f8")])}
    np.savez(npz, **arrays)
    with pytest.raises(SkymapInputError, match=r"nside-8 fields.*E_in"):
        read_scan(npz)
    with pytest.raises(SkymapInputError, match="cannot read"):
        read_scan(tmp_path / "missing.json")


def test_unknown_threshold_set() -> None:
    choices = "wilks, calibrated, pandel_mpe, hpd"
    with pytest.raises(SkymapInputError, match=rf"thresholds = 'loose'.*{choices}"):
        threshold_set("loose")


def test_every_threshold_set_name_fits_the_localization_column() -> None:
    from sqlalchemy import String

    from skymist.skymap.model import THRESHOLD_SETS
    from skymist.store.product_models import Localization

    column_type = Localization.__table__.c.thresholds.type
    assert isinstance(column_type, String) and column_type.length is not None
    length = column_type.length
    assert all(len(name) <= length for name in THRESHOLD_SETS), (length, list(THRESHOLD_SETS))


def test_cli_reports_malformed_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_mutate(lambda d: d["nside-16"]["data"][2].__setitem__(1, "abc"))))
    assert skymist_main(["skymap", "analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert "nside-16.data[2][1] (llh)" in err and "'abc'" in err
    with pytest.raises(SystemExit):
        skymist_main(["skymap", "analyze", str(path), "--rev0", "400,1"])
    assert "RA" in capsys.readouterr().err


def test_analyze_path_accepts_metadata_override(make_json: Callable[..., Path]) -> None:
    from skymist.skymap.model import ScanMetadata

    analysis = analyze_path(make_json(), "wilks", metadata=ScanMetadata(mjd=61000.0, origin="caller"))
    assert analysis.metadata.mjd == 61000.0
    assert analysis.metadata.run_id == 123456  # filled from the result
    assert not math.isnan(analysis.best_fit.llh)
