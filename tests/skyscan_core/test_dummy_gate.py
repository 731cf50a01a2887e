"""The dummy reco's gate (``skyscan/recos/dummy_gate.py``): real scans with real pixel worker processes,
held after N fits, let further by raising N, released; and what the gate refuses."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from skyscan.engine import ScanFailed, ScanRequest, run_scan
from skyscan.settings import SkyscanSettings
from skyscan.workers import OutcomeKind, PixelTask, open_pool
from skyscan.workers.compute import RecoCache, evaluate
from tests.skyscan_core.support import RecordingObserver
from tests.skyscan_core.test_task_messages import nside_1_tasks
from tests.support.pixel_gate import GATE_DIR_ENV, PixelGate
from tests.waiting import wait_for


def pixels_done(observer: RecordingObserver) -> int:
    patches = observer.patches
    return int(patches[-1]["progress"]["tallies"]["overall"]["pixels"]["done"]) if patches else 0


def last_partial_pixels(observer: RecordingObserver) -> int:
    partials = [body for body, final in observer.results if not final]
    return sum(len(entry["data"]) for entry in partials[-1].values()) if partials else -1


class ScanThread(threading.Thread):
    """``run_scan`` in a thread of its own, so that the test can watch it while it is held."""

    def __init__(self, request: ScanRequest, gate: PixelGate, workers: int) -> None:
        super().__init__(daemon=True)
        self.request, self.gate, self.workers = request, gate, workers
        self.observer = RecordingObserver()
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with open_pool("inprocess", workers=self.workers, worker_env=self.gate.env) as pool:
                self.result = run_scan(
                    self.request,
                    self.observer,
                    pool=pool,
                    progress_interval_s=0.05,
                    result_interval_s=0.05,
                )
        except BaseException as exc:
            self.error = exc


def test_a_scan_holds_at_the_gate_goes_on_as_far_as_told_and_finishes_when_released(
    tmp_path: Path, bronze_event: dict[str, Any]
) -> None:
    gate = PixelGate(tmp_path)
    gate.hold(7)
    scan = ScanThread(ScanRequest("gated", bronze_event, "dummy", ((2, 0), (4, 12))), gate, workers=2)
    scan.start()
    try:
        wait_for(lambda: pixels_done(scan.observer) == 7, 120, "7 pixels done")
        # both workers' next fits wait at the gate: 7 passed, 2 waiting
        wait_for(lambda: gate.fits("gated") == 9, 60, "both workers at the gate")
        wait_for(lambda: last_partial_pixels(scan.observer) == 7, 60, "a partial result of 7 pixels")
        assert scan.is_alive() and scan.result is None and pixels_done(scan.observer) == 7

        gate.hold(20)  # two waiting fits go on, and 11 more after them
        wait_for(lambda: pixels_done(scan.observer) == 20, 120, "20 pixels done")
        wait_for(lambda: gate.fits("gated") == 22, 60, "both workers at the gate again")
        assert scan.is_alive() and pixels_done(scan.observer) == 20
    finally:
        gate.release()
        scan.join(timeout=120)
    assert scan.error is None and scan.result is not None
    assert len(scan.result["nside-2"]["data"]) == 48
    assert all(entry["metadata"]["complete"] is True for entry in scan.result.values())
    assert gate.fits("gated") == pixels_done(scan.observer)  # every fit passed the gate once


def test_an_unreadable_limit_fails_the_scan_naming_the_file(
    tmp_path: Path, bronze_event: dict[str, Any]
) -> None:
    gate = PixelGate(tmp_path)
    (tmp_path / "limit").write_text("soon")
    scan = ScanThread(ScanRequest("badlimit", bronze_event, "dummy", ((1, 0),)), gate, workers=1)
    scan.start()
    scan.join(timeout=120)
    assert isinstance(scan.error, ScanFailed), scan.error
    assert f"{tmp_path / 'limit'}: expected a whole number of fits, got 'soon'" in scan.error.reason


@pytest.mark.parametrize("scan_id", ["../escaped", "a/b", "", ".hidden", "x" * 101])
def test_a_scan_id_that_cannot_name_a_file_is_refused(
    tmp_path: Path, bronze_event: dict[str, Any], monkeypatch: pytest.MonkeyPatch, scan_id: str
) -> None:
    gate_dir = tmp_path / "gate"
    gate_dir.mkdir()
    monkeypatch.setenv(GATE_DIR_ENV, str(gate_dir))
    task: PixelTask = nside_1_tasks(bronze_event, scan_id, {})[0]
    outcome = evaluate(task, RecoCache(), "test-worker")
    assert outcome.kind is OutcomeKind.ERROR
    assert outcome.error.startswith("GateError: scan_id:") and "cannot name a gate file" in outcome.error
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["gate"], "no file written anywhere"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("relative/gate", "dummy_gate_dir: expected an absolute path of a directory, got 'relative/gate'"),
        ("/nonexistent/gate", "dummy_gate_dir: '/nonexistent/gate' is not an existing directory"),
    ],
)
def test_the_service_refuses_a_gate_that_is_not_a_directory(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SkyscanSettings(dummy_gate_dir=value)


def test_a_worker_with_a_bad_gate_variable_fails_its_fits_naming_it(
    tmp_path: Path, bronze_event: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GATE_DIR_ENV, "gate-relative")
    outcome = evaluate(nside_1_tasks(bronze_event, "s", {})[0], RecoCache(), "test-worker")
    assert outcome.kind is OutcomeKind.ERROR
    assert f"{GATE_DIR_ENV}: expected an absolute path of a directory, got 'gate-relative'" in outcome.error
