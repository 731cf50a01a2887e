"""online_gaussian's radii calibrated on public data: Rev 0 GCN positions against IceCube's refined ones."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from skybase.event import RealtimeEvent
from skyscan.cli import main as skyscan_main
from skyscan.online_calibration import (
    CALIBRATION_FILE,
    CalibrationDataError,
    angular_distance_deg,
    calibrate,
    prompt_err90_deg,
    read_sample,
    sample_text,
)
from skyscan.recos import PixelSeed, get_reco
from skyscan.recos.online_gaussian import WILKS_50, WILKS_90

#: the published refined positions of the two shared real events (IceCat-1; run 138632: its Rev 1 notice)
PUBLISHED = {
    "run00136662-evt000035405932-BRONZE.json": (47.20, -3.28),
    "run00138632-evt000031747601-BRONZE.json": (139.0399, 0.3699),
}


def shipped_record() -> dict[str, Any]:
    text = resources.files("skyscan").joinpath("data").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    record: dict[str, Any] = json.loads(text)
    return record


def two_delta_llh_at(event: dict[str, Any], ra_deg: float, dec_deg: float) -> tuple[float, dict[str, Any]]:
    reco_cls = get_reco("online_gaussian")
    setup = reco_cls.prepare(RealtimeEvent.read(event), {})
    reco = reco_cls.from_setup(setup)

    def llh(ra: float, dec: float) -> float:
        return reco.fit(PixelSeed(nside=512, index=0, ra=math.radians(ra), dec=math.radians(dec))).llh

    return 2 * (llh(ra_deg, dec_deg) - llh(setup["ra_deg"], setup["dec_deg"])), setup


def test_the_shipped_record_is_what_the_sample_gives() -> None:
    assert calibrate() == shipped_record()


def test_held_out_alerts_are_covered_as_claimed() -> None:
    record = shipped_record()
    sample = record["sample"]
    assert sample["used"] == record["training"]["alerts"] + record["held_out"]["alerts"]
    assert sample["alerts"] == sample["used"] + len(sample["left_out"])
    assert set(record["held_out_names"]).isdisjoint({r["name"] for r in sample["left_out"]})
    for key, goal in (("coverage_90", 0.9), ("coverage_50", 0.5)):
        held = record["held_out"][key]
        binomial = math.sqrt(goal * (1 - goal) / held["alerts"])
        assert abs(held["fraction"] - goal) <= 2 * binomial, (key, held)


def test_gcn_rev0_radii_of_the_real_events(real_data: Path) -> None:
    """The width the model reads at run time is GCN's Rev 0 radius: 30.80' and 41.53' for the two events."""
    radii = {}
    for name in PUBLISHED:
        event = RealtimeEvent.read(json.loads((real_data / name).read_text()))
        radii[event.run_id] = prompt_err90_deg(event.require_online().bs_est) * 60
    assert radii[136662] == pytest.approx(30.80, abs=0.01)
    assert radii[138632] == pytest.approx(41.53, abs=0.01)


def test_published_positions_of_the_real_events(real_data: Path) -> None:
    """Run 138632's Rev 1 position is inside the 50% region. IceCube-220524A's IceCat-1 position lies on the
    90% circle: that alert (a training one) is the one whose offset sets the 90% radius (1.664 deg)."""
    out = {}
    for name, (ra, dec) in PUBLISHED.items():
        event = json.loads((real_data / name).read_text())
        two_dllh, setup = two_delta_llh_at(event, ra, dec)
        out[name[:11]] = (two_dllh, setup)
    two_dllh, setup = out["run00138632"]
    assert two_dllh < WILKS_50
    two_dllh, setup = out["run00136662"]
    distance = angular_distance_deg(setup["ra_deg"], setup["dec_deg"], 47.20, -3.28)
    assert distance == pytest.approx(setup["r90_deg"], abs=0.001)
    assert two_dllh == pytest.approx(WILKS_90, abs=0.01)
    assert "IceCube-220524A" not in shipped_record()["held_out_names"]


def test_a_bad_sample_row_is_named() -> None:
    lines = sample_text().splitlines()
    header, first = lines[0], lines[1].split(",")
    first[header.split(",").index("rev0_dec_deg")] = "-95"
    bad = r"line 2: rev0_dec_deg = -95\.0 outside \[-90\.0, 90\.0\]"
    with pytest.raises(CalibrationDataError, match=bad):
        read_sample("\n".join([header, ",".join(first)]))
    with pytest.raises(CalibrationDataError, match=r"columns \['source_commit'\] missing"):
        read_sample(header.removesuffix(",source_commit") + "\n")


def test_calibrate_online_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "calibration.json"
    assert skyscan_main(["calibrate-online", "--output", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text()) == shipped_record()
    assert skyscan_main(["calibrate-online", "--sample", str(tmp_path / "missing.csv")]) == 2
    assert "skyscan calibrate-online: --sample" in capsys.readouterr().err


def test_public_words_state_the_shipped_calibration() -> None:
    """What the Circular and notices say of online_gaussian are the shipped record's numbers."""
    from skymist.alerts.reco import APPROXIMATION_WORDS

    record = shipped_record()
    held = record["held_out"]["coverage_90"]
    words = APPROXIMATION_WORDS["online_gaussian"]
    assert f"for {record['training']['alerts']} public Gold/Bronze alerts" in words
    assert f"held the offline position of {held['contained']} of {held['alerts']} further alerts" in words
    assert "precise" not in words and "PSF" not in words and "refined" not in words
