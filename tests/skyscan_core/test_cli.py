"""The ``skyscan`` command line, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner_client.skyscan_result import SkyscanResult
from skybase.sky import angular_distance_deg
from skyscan.cli import main

REV0_RA, REV0_DEC = 138.6545, 0.1418


def skyscan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skyscan.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_help_teaches() -> None:
    top = skyscan("--help")
    assert top.returncode == 0
    assert "scan" in top.stdout and "worker" in top.stdout
    scan = skyscan("scan", "--help")
    assert scan.returncode == 0
    for needle in (
        "--nsides",
        "8:0,64:12,512:24",
        "--predictive-scanning-threshold",
        "online_gaussian",
        "NESTED",
    ):
        assert needle in scan.stdout, needle
    worker = skyscan("worker", "--help")
    assert "-9" in worker.stdout and "--prefetch" in worker.stdout


@pytest.mark.slow
def test_scan_writes_a_result_and_a_summary(tmp_path: Path, real_data: Path) -> None:
    output = tmp_path / "result.json"
    run = skyscan(
        "scan",
        str(real_data / "run00138632-evt000031747601-BRONZE.json"),
        "--nsides",
        "8:0,64:12",
        "--workers",
        "2",
        "--output",
        str(output),
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["pixels"]["8"] == 768 and summary["pixels"]["64"] >= 700
    best = summary["best_fit"]
    assert best["nside"] == 64
    assert angular_distance_deg(best["ra_deg"], best["dec_deg"], REV0_RA, REV0_DEC) < 1.0
    parsed = SkyscanResult.model_validate(json.loads(output.read_text()))
    assert parsed.nsides == [8, 64] and parsed.complete
    assert "pixels (now at nside 64)" in run.stderr


def _usage_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``skyscan`` in this process, for an argument refused by its parser: the exit status must be 2;
    what it printed to standard error."""
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    assert stopped.value.code == 2
    return capsys.readouterr().err


@pytest.mark.slow
def test_scan_errors_name_the_problem(
    tmp_path: Path, real_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = str(real_data / "run00138632-evt000031747601-BRONZE.json")
    # the parser's refusals in this process (the same parser and exit status as the command line's) ...
    bad_nsides = _usage_error(capsys, "scan", event, "--nsides", "8:0,60:12")
    assert "nsides[1]: nside must be a power of two, got 60" in bad_nsides
    bad_threshold = _usage_error(capsys, "scan", event, "--predictive-scanning-threshold", "0.05")
    assert "predictive_scanning_threshold: must be in" in bad_threshold
    # ... and the scan's own, through the real command line
    missing = skyscan("scan", str(tmp_path / "nothing.json"))
    assert missing.returncode == 2 and "cannot read event" in missing.stderr
    bad_option = skyscan(
        "scan", event, "--reco", "dummy", "--reco-option", "delay=1", "--nsides", "1:0", "--workers", "1"
    )
    assert (
        bad_option.returncode == 1
        and "reco_options: ['delay'] not understood by 'dummy'" in bad_option.stderr
    )


def test_worker_needs_a_broker() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SKYSCAN_BROKER_URL"}
    run = skyscan("worker", env=env)
    assert run.returncode == 2 and "give --broker URL or set SKYSCAN_BROKER_URL" in run.stderr
