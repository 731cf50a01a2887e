"""truthsim events: reproducible from their seed, written as messages skyscan's own reader accepts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from skyscan.cli import main
from skyscan.truthsim.event import Detector, TruthSimSettings, simulate_pulses
from skyscan.truthsim.light import LightSettings

#: cheap events: 10-20 TeV muons, a third of a tracked photon per metre of light
FAST = TruthSimSettings(
    energy_range_gev=(1e4, 2e4), light=dataclasses.replace(LightSettings(), photons_per_m=0.3)
)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load(FAST)


def test_an_event_is_reproduced_from_its_seed_and_index(detector: Detector) -> None:
    first = simulate_pulses(3, 0, detector, FAST)
    again = simulate_pulses(3, 0, detector, FAST)
    other = simulate_pulses(3, 1, detector, FAST)
    assert first.superdst == again.superdst
    assert first.truth.as_record() == again.truth.as_record()
    assert first.superdst != other.superdst
    assert first.cleaned.nch >= FAST.min_cleaned_doms
    for event in (first, other):
        assert 0.9 <= event.truth.scattering_scale <= 1.1 and 0.9 <= event.truth.absorption_scale <= 1.1
    assert first.truth.scattering_scale != other.truth.scattering_scale
    assert first.truth.n_losses > 0 and first.truth.largest_loss_gev > 0.0
    # several pulses per DOM over time, as the real events' pulse series
    assert len(first.cleaned.pulses) > 1.5 * first.cleaned.nch


def test_cli_events_are_read_by_skyscan_event_inspect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["truthsim", "--seed", "4", "--count", "1", "--output-dir", str(tmp_path)]
    assert main([*argv, "--energy-range", "10000:20000", "--photons-per-m", "0.3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 1
    (path,) = tmp_path.glob("truthsim_0004_000000.json")
    message = json.loads(path.read_text())
    truth = message["value"]["data"]["simulation"]
    assert truth["generator"] == "truthsim" and truth["seed"] == 4
    assert 1e4 * 0.5 < truth["energy_start_gev"] <= 2e4 and truth["energy_gev"] <= truth["energy_start_gev"]
    assert np.isfinite(truth["zenith"]) and np.isfinite(truth["azimuth"])
    assert main(["event", "inspect", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cleaned_pulses"]["matches_message"] is True
    assert report["cleaned_pulses"]["nch"] == message["value"]["data"]["nch"]
    assert report["split_pulses"]["npulses"] >= report["cleaned_pulses"]["npulses"]


def test_cli_refuses_a_bad_energy_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(
            ["truthsim", "--seed", "1", "--count", "1", "--output-dir", str(tmp_path), "--energy-range", "5"]
        )
    assert "LOW:HIGH" in capsys.readouterr().err
