"""``skyscan calibrate`` reads truthsim's events: chosen by what they hold (or by --pattern), not by name."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from skyscan.calibration import EventOutcome
from skyscan.cli import main
from skyscan.simulated_events import count_generators, find_simulated_events
from skyscan.simulation.message import simulate_event
from skyscan.truthsim.event import Detector, TruthSimSettings, simulate_pulses
from skyscan.truthsim.light import LightSettings
from skyscan.truthsim.message import event_message, event_time

#: cheap events: 10-20 TeV muons, a third of a tracked photon per metre of light
FAST = TruthSimSettings(
    energy_range_gev=(1e4, 2e4), light=dataclasses.replace(LightSettings(), photons_per_m=0.3)
)
SEED = 5
#: a real alert (no value.data.simulation): never a simulated event
REAL_EVENT = Path(__file__).parents[1] / "skyscan_core" / "data" / "run00136766-evt000007637140-GOLD.json"


@pytest.fixture(scope="module")
def truthsim_messages() -> list[str]:
    """Two truthsim events of seed 5, as the files ``skyscan truthsim`` writes."""
    detector = Detector.load(FAST)
    messages = []
    for index in range(2):
        event = simulate_pulses(SEED, index, detector, FAST)
        message = event_message(event, SEED, index, detector.geometry, FAST, event_time(SEED, index))
        messages.append(json.dumps(message))
    return messages


def _write_truthsim(directory: Path, messages: list[str], count: int) -> list[Path]:
    paths = [directory / f"truthsim_{SEED:04d}_{index:06d}.json" for index in range(count)]
    for index, path in enumerate(paths):
        path.write_text(messages[index % len(messages)])
    return paths


def test_a_folder_of_both_simulations_and_other_files_is_sorted_by_content(
    tmp_path: Path, truthsim_messages: list[str]
) -> None:
    truthsim = _write_truthsim(tmp_path, truthsim_messages, 2)
    old = tmp_path / "sim_0003_000001.json"
    old.write_text(json.dumps(simulate_event(3, 1).message))
    shutil.copy(REAL_EVENT, tmp_path / REAL_EVENT.name)
    (tmp_path / "thresholds.json").write_text('{"name": "pandel_mpe_simulation", "level_90": 110.7}')
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "outcomes.jsonl").write_text("")

    found = find_simulated_events(tmp_path)
    assert found.paths == sorted([*truthsim, old])
    assert count_generators(found.events) == {"skyscan simulate": 1, "skyscan truthsim": 2}
    assert sorted(p.name for p in found.passed_over) == ["broken.json", REAL_EVENT.name, "thresholds.json"]

    by_name = find_simulated_events(tmp_path, "truthsim_*.json")
    assert by_name.paths == truthsim and not by_name.passed_over
    # an explicit pattern is a promise: a matched file that is no simulated event is named
    with pytest.raises(ValueError, match=r"--pattern \*\.json: .*broken\.json is not a simulated event"):
        find_simulated_events(tmp_path, "*.json")


def test_a_folder_without_simulated_events_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REAL_EVENT, tmp_path / REAL_EVENT.name)
    argv = ["--calibration-events", "20", "--output", str(tmp_path / "thresholds.json")]
    assert main(["calibrate", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"skyscan calibrate: {tmp_path}: no simulated events: none of its 1 *.json files" in err
    assert main(["calibrate", str(tmp_path), "--pattern", "truthsim_*.json", *argv]) == 2
    assert "no file matches --pattern truthsim_*.json" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path / "missing"), *argv]) == 2
    assert capsys.readouterr().err == f"skyscan calibrate: {tmp_path / 'missing'}: not a directory\n"
    assert not (tmp_path / "thresholds.json").exists()


def test_calibrate_sets_thresholds_from_truthsim_events(
    tmp_path: Path, truthsim_messages: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    paths = _write_truthsim(events, truthsim_messages, 21)
    # the resumable cache stands in for 20 evaluations (each a minimisation); the 21st, held out, is
    # evaluated here for real
    cache = tmp_path / "outcomes.jsonl"
    cached = [
        EventOutcome(path.name, 1.5e4, 25, float(i), 1.0, 2.0, 40, 1.0) for i, path in enumerate(paths[:20])
    ]
    cache.write_text("".join(json.dumps(asdict(outcome)) + "\n" for outcome in cached))
    output = tmp_path / "thresholds.json"
    argv = ["calibrate", str(events), "--calibration-events", "20", "--output", str(output)]
    assert main([*argv, "--cache", str(cache)]) == 0

    captured = capsys.readouterr()
    assert f"{events}: 21 simulated events (skyscan truthsim: 21); 0 other files passed over" in captured.err
    result = json.loads(output.read_text())
    assert json.loads(captured.out) == result
    assert result["description"].endswith("calibrated on 20 events of skyscan truthsim")
    assert result["provenance"]["generators"] == {"skyscan truthsim": 21}
    assert (result["provenance"]["n_calibration"], result["provenance"]["n_held_out"]) == (20, 1)
    held_out = EventOutcome(**json.loads(cache.read_text().splitlines()[-1]))
    assert held_out.name == paths[20].name
    assert held_out.two_delta_llh >= 0.0 and math.isfinite(held_out.two_delta_llh)
    assert 0.0 <= held_out.error_deg <= 180.0 and held_out.evaluations > 10
    # the truth it was measured against is the message's own
    truth = json.loads(paths[20].read_text())["value"]["data"]["simulation"]
    assert held_out.energy_gev == pytest.approx(truth["energy_gev"])
