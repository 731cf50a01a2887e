"""skyreader result format and the progress PATCH bodies, against IceCube's reference examples."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from scanner_client.models import EventMetadata, Progress
from scanner_client.skyscan_result import NAN_SENTINEL, SkyscanResult
from skyscan.engine import ScanRequest, run_scan
from skyscan.pixels import NsideProgression
from skyscan.progress import ProgressTracker
from skyscan.recos import PixelFit
from skyscan.results import build_result
from skyscan.workers import open_pool
from tests.skyscan_core.support import RecordingObserver

EVENT_KEYS = ("run_id", "event_id", "event_type", "mjd", "is_real_event")
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
DURATION = re.compile(r"^(\d+ days?, )?\d+:\d\d:\d\d$")


def reference(name: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / name
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def ordered_shape(value: Any) -> Any:
    """Keys in order, recursively; per-nside keys and timeline fractions, which vary by scan, become
    one placeholder each; leaves become their JSON type."""
    if isinstance(value, dict):
        shape: list[tuple[str, Any]] = []
        for key, item in value.items():
            if key.isdigit() or key.startswith("nside-"):
                key = "<nside>"
            elif re.fullmatch(r"[01]\.\d+", key):
                key = "<fraction>"
            if key not in [k for k, _ in shape]:
                shape.append((key, ordered_shape(item)))
        return shape
    if isinstance(value, bool) or value is None:
        return repr(value) if value is None else "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


# -- results -------------------------------------------------------------------------------------------
def test_result_rebuilds_the_reference_example_exactly() -> None:
    example = reference("example_skyscan_result_final_nside1.json")
    parsed = SkyscanResult.model_validate(example).at(1)
    fits = {1: {int(row[0]): PixelFit.from_list([float(v) for v in row[1:]]) for row in parsed.data}}
    event = EventMetadata.model_validate(
        {k: v for k, v in parsed.metadata.model_dump().items() if k in EVENT_KEYS}
    )
    rebuilt = build_result(fits, event, complete=True)
    assert json.dumps(rebuilt) == json.dumps(example)  # same keys, order, values and NaN sentinel


def test_result_round_trip_with_nan_and_algorithm_name() -> None:
    event = EventMetadata(
        run_id=138632, event_id=31747601, event_type="neutrino", mjd=60280.71416774572, is_real_event=True
    )
    fits = {
        8: {5: PixelFit(12.5), 3: PixelFit(math.nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)},
        64: {100: PixelFit(-3.25, X=1.0)},
        512: {},
    }
    result = json.loads(json.dumps(build_result(fits, event, complete=False, reco_algo="online_gaussian")))
    assert list(result) == ["nside-8", "nside-64"], "nsides without pixels are left out"
    entry = result["nside-8"]
    assert list(entry) == ["columns", "data", "metadata"]
    assert entry["columns"] == ["index", "llh", "E_in", "E_tot", "X", "Y", "Z", "T"]
    assert entry["data"][0] == [3, NAN_SENTINEL, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "rows sorted by index"
    assert entry["data"][1][:3] == [5, 12.5, NAN_SENTINEL]
    assert entry["metadata"] == {
        "nside": 8,
        "complete": False,
        "run_id": 138632,
        "event_id": 31747601,
        "event_type": "neutrino",
        "mjd": 60280.71416774572,
        "is_real_event": True,
        "version": 1,
        "reco_algo": "online_gaussian",
    }
    # read back by the wire client, which keeps unknown metadata keys as skyreader does
    parsed = SkyscanResult.model_validate(result)
    assert parsed.nsides == [8, 64] and parsed.complete is False
    assert parsed.at(8).indices == [3, 5] and math.isnan(parsed.at(8).column("llh")[0])
    assert parsed.at(8).metadata.model_dump()["reco_algo"] == "online_gaussian"
    assert parsed.best_fit() == (64, 100, -3.25)
    assert parsed.to_wire() == result


# -- progress ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recorded_scan(bronze_event: dict[str, Any]) -> RecordingObserver:
    observer = RecordingObserver()
    request = ScanRequest(
        scan_id="19505db3e88x4348a28a8554441b96bc",
        event=bronze_event,
        reco_algo="dummy",
        nsides=((8, 0), (64, 12)),
        reco_options={"delay_s": 0.002, "seed": 3},
    )
    with open_pool("inprocess", workers=2) as pool:
        run_scan(request, observer, pool=pool, progress_interval_s=0.05, result_interval_s=0.1)
    return observer


def test_progress_bodies_have_the_reference_keys(recorded_scan: RecordingObserver) -> None:
    patches = recorded_scan.patches
    start, final = patches[0], patches[-1]
    midscan = [p for p in patches[1:-1] if "predictions" in p["progress"]["processing_stats"]][-1]
    # JSON round trip, as it would travel
    start, midscan, final = (json.loads(json.dumps(body)) for body in (start, midscan, final))
    assert ordered_shape(start) == ordered_shape(reference("example_PATCH_manifest_body_start.json"))
    assert ordered_shape(midscan) == ordered_shape(reference("example_PATCH_manifest_body_midscan.json"))
    assert ordered_shape(final) == ordered_shape(reference("example_PATCH_manifest_body_final.json"))
    for body in patches:  # and every one reads as the wire client's models
        Progress.model_validate(body["progress"])
        EventMetadata.model_validate(body["event_metadata"])


def test_progress_values(recorded_scan: RecordingObserver, bronze_event: dict[str, Any]) -> None:
    start, final = recorded_scan.patches[0], recorded_scan.patches[-1]
    assert start["progress"]["summary"] == "The Skymap Scanner has started up."
    assert start["progress"]["end"] is None and "rate" not in start["progress"]["processing_stats"]
    assert start["event_metadata"] == {
        "run_id": 138632,
        "event_id": 31747601,
        "event_type": "neutrino",
        "mjd": 60280.71416774572,
        "is_real_event": True,
        "version": 1,
    }
    assert start["scan_metadata"] == {
        "scan_id": "19505db3e88x4348a28a8554441b96bc",
        "nside_progression": {"8": 0, "64": 12},
        "position_variations": 1,
    }
    tallies = start["progress"]["tallies"]["nsides"]["8"]
    assert tallies["pixels"] == {
        "done": 0,
        "done est. percent": "N/A",
        "generated": 0.0,
        "initial approximation total": 768.0,
    }
    progress = final["progress"]
    assert progress["summary"] == "The Skymap Scanner has finished."
    assert isinstance(progress["end"], int) and progress["end"] >= progress["start"]
    stats = progress["processing_stats"]
    assert stats["finished"] is True and LOCAL_TIME.match(stats["end"]) and "predictions" not in stats
    overall = progress["tallies"]["overall"]
    done = overall["pixels"]["done"]
    assert overall["recos"]["done est. percent"] == f"{done}/{done} (1.00)"
    assert overall["pixels"]["done est. percent"] == f"{done}/{float(done)} (1.00)"
    assert next(iter(progress["tallies"]["est. scan timeline"])) == f"{1 / done:.5f}"
    assert list(progress["tallies"]["est. scan timeline"])[-1] == "1.0"
    for section in ("start", "runtime"):
        for value in stats[section].values():
            assert LOCAL_TIME.match(value) or DURATION.match(value), value
    assert set(stats["rate"]) == {"all recos", "nside-8", "nside-64"}


def test_progress_reports_come_in_icecube_order(recorded_scan: RecordingObserver) -> None:
    kinds = [(kind, final) for kind, _, final in recorded_scan.calls]
    assert kinds[0] == ("progress", False)
    assert kinds[-2:] == [("result", True), ("progress", False)], (
        "final result first, then the final progress"
    )
    assert [final for kind, final in kinds if kind == "result"].count(True) == 1
    summaries = [body["progress"]["summary"] for body in recorded_scan.patches]
    assert "The Skymap Scanner has sent out 768 pixels and is waiting to receive recos." in summaries
    assert any(not final for _, final in recorded_scan.results), "partial results every result_interval_s"
    for partial, _ in recorded_scan.results[:-1]:
        assert all(entry["metadata"]["complete"] is False for entry in partial.values())


def test_tracker_predictions_use_the_moving_window() -> None:
    now = [1_000_000.0]
    event = EventMetadata(run_id=1, event_id=2, event_type="neutrino", mjd=60000.0, is_real_event=False)
    tracker = ProgressTracker("s", NsideProgression.parse("8:0,64:12"), event, clock=lambda: now[0])
    tracker.record_sent(8, 768)
    for k in range(600):
        tracker.record_reco(8, 0.5, now[0] + k, now[0] + k + 1.0)
        tracker.record_pixel_done(8)
    now[0] += 601.0
    stats = tracker.body("busy")["progress"]["processing_stats"]
    predictions = stats["predictions"]
    assert predictions["total # of reconstructions"] == 768 + 768
    assert predictions["technique"].startswith("simple average over entire scan runtime")
    # one reco per second on the server: 936 recos left take 936 s
    assert predictions["time left"] == "0:15:36"
