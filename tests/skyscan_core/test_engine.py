"""Whole scans with the in-process pool: a real event at default resolution, failures, cancel, duplicates."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from skybase.sky import angular_distance_deg
from skyscan.engine import ScanCancelled, ScanFailed, ScanRequest, event_metadata, run_scan
from skyscan.workers import OutcomeKind, PixelPool, open_pool
from tests.skyscan_core.support import RecordingObserver, WatchedPool, best_direction_deg, pixel_sets

REV0_RA, REV0_DEC = 138.6545, 0.1418
DEFAULT_NSIDES = ((8, 0), (64, 12), (512, 24))


@pytest.fixture(scope="module")
def pool() -> Iterator[PixelPool]:
    with open_pool("inprocess", workers=2) as in_process:
        yield in_process


def request(event: dict[str, Any], scan_id: str, **fields: Any) -> ScanRequest:
    values: dict[str, Any] = {"reco_algo": "dummy", "nsides": ((1, 0), (2, 12)), **fields}
    return ScanRequest(scan_id=scan_id, event=event, **values)


def test_default_scan_of_a_real_bronze_alert(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    observer = RecordingObserver()
    result = run_scan(
        ScanRequest("0190a1b2c3dx0123456789abcdef0123", bronze_event, "online_gaussian", DEFAULT_NSIDES),
        observer,
        pool=pool,
    )
    counts = {key: len(entry["data"]) for key, entry in result.items()}
    assert counts["nside-8"] == 768
    assert 700 <= counts["nside-64"] <= 1000
    assert 1200 <= counts["nside-512"] <= 2400
    assert all(entry["metadata"]["complete"] is True for entry in result.values())
    assert result["nside-512"]["metadata"]["reco_algo"] == "online_gaussian"
    # the result says what made it: an approximation, whose regions are Wilks' levels
    assert result["nside-512"]["metadata"]["reco_kind"] == "approximation"
    assert result["nside-512"]["metadata"]["region_method"] == "wilks"
    ra, dec = best_direction_deg(result)
    assert angular_distance_deg(ra, dec, REV0_RA, REV0_DEC) < 0.5
    assert observer.results[-1] == (result, True)
    final_tally = observer.patches[-1]["progress"]["tallies"]["overall"]["pixels"]
    assert final_tally["done"] == sum(counts.values()) == final_tally["generated"]


def test_predictive_scanning_finishes_the_same_sky(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    result = run_scan(
        ScanRequest(
            "predictive", bronze_event, "online_gaussian", DEFAULT_NSIDES, predictive_scanning_threshold=0.3
        ),
        RecordingObserver(),
        pool=pool,
    )
    counts = {key: len(entry["data"]) for key, entry in result.items()}
    assert counts["nside-8"] == 768 and counts["nside-64"] >= 700 and counts["nside-512"] >= 1200
    assert angular_distance_deg(*best_direction_deg(result), REV0_RA, REV0_DEC) < 0.5


def test_duplicate_outcomes_are_ignored(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    """The broker may hand an outcome over twice (redelivery after a lost ack): the scan must not care."""
    options = {"seed": 11}
    reference = run_scan(request(bronze_event, "plain", reco_options=options), RecordingObserver(), pool=pool)
    doubled = WatchedPool(pool, duplicate=True)
    observer = RecordingObserver()
    result = run_scan(request(bronze_event, "doubled", reco_options=options), observer, pool=doubled)
    assert pixel_sets(result) == pixel_sets(reference)
    for key, entry in result.items():
        assert [row[1:] for row in entry["data"]] == [row[1:] for row in reference[key]["data"]]
    tally = observer.patches[-1]["progress"]["tallies"]["overall"]
    assert tally["recos"]["done"] == len(doubled.channels["doubled"].outcomes) == tally["recos"]["generated"]


@pytest.mark.slow
def test_overrunning_fit_is_abandoned_and_redelivered(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    watched = WatchedPool(pool)
    result = run_scan(
        request(
            bronze_event,
            "overrun",
            nsides=((1, 0),),
            max_pixel_reco_time=0.5,
            reco_options={"first_delivery_delay_s": 60.0},
        ),
        RecordingObserver(),
        pool=watched,
    )
    assert pixel_sets(result) == {"nside-1": set(range(12))}
    outcomes = watched.channels["overrun"].outcomes
    timeouts = [o for o in outcomes if o.kind is OutcomeKind.TIMEOUT]
    fits = [o for o in outcomes if o.kind is OutcomeKind.FIT]
    assert sorted(o.pixel for o in timeouts) == list(range(12)) and all(o.delivery == 1 for o in timeouts)
    assert sorted(o.pixel for o in fits) == list(range(12)) and all(o.delivery == 2 for o in fits)


@pytest.mark.slow
def test_pixel_that_always_overruns_fails_the_scan(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    with pytest.raises(ScanFailed, match=r"^nside 1 pixel \d+ \(variation 0\): reco timed out 2 times"):
        run_scan(
            request(
                bronze_event, "hang", nsides=((1, 0),), max_pixel_reco_time=0.3, reco_options={"delay_s": 60}
            ),
            RecordingObserver(),
            pool=pool,
            max_pixel_attempts=2,
        )


def test_failing_fits_are_retried_then_fail_the_scan(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    watched = WatchedPool(pool)
    result = run_scan(
        request(bronze_event, "flaky", nsides=((1, 0),), reco_options={"fail_deliveries": 2}),
        RecordingObserver(),
        pool=watched,
    )
    assert pixel_sets(result) == {"nside-1": set(range(12))}
    errors = [o for o in watched.channels["flaky"].outcomes if o.kind is OutcomeKind.ERROR]
    assert len(errors) == 24 and "DummyRecoError: fail_deliveries=2" in errors[0].error
    with pytest.raises(ScanFailed, match=r"reco failed 3 times; last: DummyRecoError: fail_deliveries=5"):
        run_scan(
            request(bronze_event, "broken", nsides=((1, 0),), reco_options={"fail_deliveries": 5}),
            RecordingObserver(),
            pool=pool,
        )


def test_cancel_stops_the_scan(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    cancel = threading.Event()

    class CancelAfterFirstProgress(RecordingObserver):
        def manifest_patch(self, body: dict[str, Any]) -> None:
            super().manifest_patch(body)
            if body["progress"]["tallies"]["overall"]["recos"]["done"]:
                cancel.set()

    observer = CancelAfterFirstProgress()
    with pytest.raises(ScanCancelled):
        run_scan(
            request(bronze_event, "cancelled", nsides=((8, 0),), reco_options={"delay_s": 0.01}),
            observer,
            pool=pool,
            cancel=cancel,
            progress_interval_s=0.05,
        )
    assert all(not final for _, final in observer.results), "a cancelled scan has no final result"
    # the pool is free for the next scan: the cancelled scan's waiting tasks were dropped
    after = run_scan(request(bronze_event, "after-cancel", nsides=((1, 0),)), RecordingObserver(), pool=pool)
    assert pixel_sets(after) == {"nside-1": set(range(12))}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reco_algo": "millipede"}, "reco_algo: unknown 'millipede'"),
        ({"nsides": ((8, 0), (60, 12))}, "nsides[1]: nside must be a power of two, got 60"),
        (
            {"predictive_scanning_threshold": 0.05},
            "predictive_scanning_threshold: must be in (0.1, 1.0], got 0.05",
        ),
        ({"max_pixel_reco_time": -1.0}, "max_pixel_reco_time: expected a positive number of seconds"),
        ({"reco_options": {"delay_s": "slow"}}, "reco_options.delay_s of 'dummy': expected a number >= 0"),
    ],
)
def test_bad_requests_fail_before_anything_is_reported(
    pool: PixelPool, bronze_event: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    observer = RecordingObserver()
    with pytest.raises(ScanFailed) as info:
        run_scan(request(bronze_event, "bad", **fields), observer, pool=pool)
    assert info.value.reason.startswith(message)
    assert observer.calls == []


def test_bad_event_fails_naming_the_field(pool: PixelPool, bronze_event: dict[str, Any]) -> None:
    broken = copy.deepcopy(bronze_event)
    broken["value"]["data"]["eventtime"] = 17
    with pytest.raises(ScanFailed, match=r"^value\.data\.eventtime: expected a UTC date-time text"):
        run_scan(request(broken, "bad-event"), RecordingObserver(), pool=pool)


def test_event_metadata(bronze_event: dict[str, Any]) -> None:
    assert event_metadata(bronze_event) == {
        "run_id": 138632,
        "event_id": 31747601,
        "event_type": "neutrino",
        "mjd": 60280.71416774572,
        "is_real_event": True,
    }
    assert event_metadata(bronze_event, is_real_event=False)["is_real_event"] is False
