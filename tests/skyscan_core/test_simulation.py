"""``skyscan simulate`` / ``calibrate`` / ``event inspect``: simulated messages read like real ones."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from skybase.event import RealtimeEvent
from skybase.i3.cleaning import clean
from skybase.i3.event import EventFrames
from skybase.i3.geometry import Geometry
from skyscan.calibration import EventOutcome, calibrate, evaluate_event, from_direction
from skyscan.cli import main
from skyscan.simulation.message import simulate_event
from tests.skybase_i3.realdata import NEW_EVENT, real_dir


def test_a_simulated_event_is_reproducible_and_reads_like_a_real_message() -> None:
    first = simulate_event(3, 5)
    assert simulate_event(3, 5).message == first.message
    assert simulate_event(3, 6).message != first.message
    message = json.loads(json.dumps(first.message))
    data = message["value"]["data"]
    event = RealtimeEvent.read(message)
    assert (event.run_id, event.event_id) == (data["run_id"], data["event_id"])
    frames = EventFrames.from_message(message)
    cleaned = clean(frames.split_pulses(), Geometry.load())
    counts = (cleaned.npulses, cleaned.nch, round(cleaned.qtot, 2))
    assert counts == (data["npulses"], data["nch"], data["qtot"])
    assert data["nch"] >= 20
    truth = data["simulation"]
    assert truth["zenith"] == pytest.approx(first.muon.zenith)
    # the first guess stored in the frames points roughly along the true track
    guess = frames.particle("LineFit")
    true_from = from_direction(truth["zenith"], truth["azimuth"])
    angle = math.degrees(math.acos(float(from_direction(guess.zenith, guess.azimuth) @ true_from)))
    assert angle < 30.0


def test_the_calibration_numbers_of_one_event() -> None:
    outcome = evaluate_event(simulate_event(3, 1).message, "one", {})
    assert outcome.two_delta_llh >= 0.0
    assert 0.0 <= outcome.error_deg < 10.0
    assert outcome.evaluations > 10


def _outcome(i: int, dllh: float) -> EventOutcome:
    return EventOutcome(f"e{i}", 10 ** (4 + (i % 20) / 10), 50, dllh, 1.0 + (i % 3), 2.0, 10, 0.1)


def test_thresholds_are_the_quantiles_and_coverage_is_measured_on_held_out_events() -> None:
    rng = np.random.default_rng(0)
    values = rng.chisquare(2, size=600) * 5.0
    outcomes = [_outcome(i, float(v)) for i, v in enumerate(values)]
    result = calibrate(outcomes[:300], outcomes[300:], {"test": True})
    assert result["level_50"] == pytest.approx(np.quantile(values[:300], 0.5), abs=1e-3)
    assert result["level_90"] == pytest.approx(np.quantile(values[:300], 0.9), abs=1e-3)
    assert result["coverage_held_out"]["90"]["events"] == 300
    assert abs(result["coverage_held_out"]["90"]["fraction"] - 0.9) < 0.06
    assert result["provenance"]["n_calibration"] == 300
    with pytest.raises(ValueError, match="need >= 20 calibration events"):
        calibrate(outcomes[:5], outcomes[5:], {})


def test_simulate_and_inspect_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--seed", "9", "--count", "2", "--output-dir", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("sim_*.json"))
    assert [f.name for f in files] == ["sim_0009_000000.json", "sim_0009_000001.json"]
    capsys.readouterr()
    picture = tmp_path / "event.png"
    assert main(["event", "inspect", str(real_dir() / NEW_EVENT), "--png", str(picture)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cleaned_pulses"]["matches_message"] is True
    assert report["cleaned_pulses"]["npulses"] == 888
    assert all(frame["crc_verified"] for frame in report["frames"])
    decoded = report["online_fits"]["l2_online_SplineMPE"]["zenith"]
    assert round(decoded, 5) == report["message_reco"]["splinempe"]["zen"]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_bad_file_is_one_line_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"value": {"data": {"frames": [["P", "bm90IGEgcGlja2xl"]]}}}')
    assert main(["event", "inspect", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "value.data.frames[0]" in err
    assert main(["event", "inspect", str(tmp_path / "missing.json")]) == 2
    assert "cannot read event" in capsys.readouterr().err


def test_the_shipped_threshold_set_carries_its_provenance() -> None:
    from skyscan.thresholds import load_threshold_set

    shipped = load_threshold_set()
    assert shipped.name == "pandel_mpe_simulation"
    assert 0 < shipped.level_50 < shipped.level_90
    record = shipped.record
    assert record["provenance"]["n_calibration"] >= 200
    assert record["coverage_held_out"]["90"]["events"] >= 200
    assert "skyscan calibrate" in record["provenance"]["reproduce"]
