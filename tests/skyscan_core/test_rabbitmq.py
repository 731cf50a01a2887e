"""Scans through a real RabbitMQ broker with ``skyscan worker`` processes: kill -9, time limits, cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pytest

from skyscan.engine import ScanCancelled, ScanRequest, run_scan
from skyscan.workers import OutcomeKind, open_pool
from tests.skyscan_core.support import RecordingObserver, WatchedPool, pixel_sets
from tests.support.pixel_gate import PixelGate
from tests.waiting import wait_for

StartWorkers = Callable[..., list[subprocess.Popen[bytes]]]
NSIDES = ((4, 0), (8, 12))


def compute_children_of(pid: int) -> list[int]:
    """Live ``skyscan.workers.compute`` processes started by process ``pid``."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if b"skyscan.workers.compute" in argv and str(pid).encode() in argv and state != "Z":
            children.append(int(entry.name))
    return children


def queue_depth(broker_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        depth: int = connection.channel().queue_declare(queue=queue, durable=True).method.message_count
        return depth
    finally:
        connection.close()


def test_kill_9_of_a_worker_loses_no_pixel(
    broker_url: str,
    task_queue: str,
    start_workers: StartWorkers,
    bronze_event: dict[str, Any],
    tmp_path: Path,
) -> None:
    options = {"seed": 5}
    with open_pool("inprocess", workers=2) as in_process:
        uninterrupted = run_scan(
            ScanRequest("reference", bronze_event, "dummy", NSIDES, reco_options=options),
            RecordingObserver(),
            pool=in_process,
        )

    # the dummy reco's gate holds the scan after 40 fits, each worker inside its next fit with its
    # task messages unacknowledged: the kill lands there, mid-scan, whatever the machine's speed
    gate = PixelGate(tmp_path / "gate")
    gate.hold(40)
    victim, survivor = start_workers(2, "--prefetch", "2", env=gate.env)
    watched = WatchedPool(open_pool("rabbitmq", workers=0, broker_url=broker_url, task_queue=task_queue))
    outcome: dict[str, Any] = {}

    def scan() -> None:
        try:
            outcome["result"] = run_scan(
                ScanRequest("killed", bronze_event, "dummy", NSIDES, reco_options=options),
                RecordingObserver(),
                pool=watched,
            )
        except BaseException as exc:
            outcome["error"] = exc

    with watched:
        scanning = threading.Thread(target=scan, daemon=True)
        scanning.start()
        try:
            wait_for(lambda: gate.fits("killed") == 42, 120, "both workers inside a fit held at the gate")
            os.kill(victim.pid, signal.SIGKILL)
            assert victim.wait(timeout=30) == -signal.SIGKILL
        finally:
            gate.release()
            scanning.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert pixel_sets(result) == pixel_sets(uninterrupted)
    assert result == uninterrupted, "same pixels and the same (seeded) fits as the uninterrupted scan"
    outcomes = watched.channels["killed"].outcomes
    assert any(o.delivery > 1 for o in outcomes), "the killed worker's unacknowledged tasks were redelivered"
    assert all(o.worker.endswith(f":{survivor.pid}") for o in outcomes[-20:]), (
        "the survivor finished the scan"
    )
    wait_for(lambda: not compute_children_of(victim.pid), 30, "the killed worker's compute child to exit")
    assert survivor.poll() is None


@pytest.mark.slow
def test_overrunning_fit_is_nacked_and_redelivered(
    broker_url: str, task_queue: str, start_workers: StartWorkers, bronze_event: dict[str, Any]
) -> None:
    # one task at a time: a prefetched task that a backing-off worker gives back unfitted comes back
    # flagged redelivered by the broker, and the dummy reco delays first deliveries only
    start_workers(2, "--backoff-s", "0.2", "--prefetch", "1")
    watched = WatchedPool(open_pool("rabbitmq", workers=0, broker_url=broker_url, task_queue=task_queue))
    with watched:
        result = run_scan(
            ScanRequest(
                "overrun",
                bronze_event,
                "dummy",
                ((1, 0),),
                max_pixel_reco_time=0.5,
                reco_options={"first_delivery_delay_s": 60.0},
            ),
            RecordingObserver(),
            pool=watched,
        )
    assert pixel_sets(result) == {"nside-1": set(range(12))}
    outcomes = watched.channels["overrun"].outcomes
    timeouts = sorted(o.pixel for o in outcomes if o.kind is OutcomeKind.TIMEOUT)
    fits = [o for o in outcomes if o.kind is OutcomeKind.FIT]
    assert timeouts == list(range(12)), "every first delivery overran and was reported"
    assert sorted(o.pixel for o in fits) == list(range(12)) and all(o.delivery == 2 for o in fits)


def test_tasks_of_an_ended_scan_are_dropped(
    broker_url: str, task_queue: str, start_workers: StartWorkers, bronze_event: dict[str, Any]
) -> None:
    cancel = threading.Event()

    class CancelOnFirstReco(RecordingObserver):
        def manifest_patch(self, body: dict[str, Any]) -> None:
            super().manifest_patch(body)
            if body["progress"]["tallies"]["overall"]["recos"]["done"]:
                cancel.set()

    start_workers(2)
    with (
        open_pool("rabbitmq", workers=0, broker_url=broker_url, task_queue=task_queue) as pool,
        pytest.raises(ScanCancelled),
    ):
        run_scan(
            ScanRequest("ended", bronze_event, "dummy", ((4, 0),), reco_options={"delay_s": 0.005}),
            CancelOnFirstReco(),
            pool=pool,
            cancel=cancel,
            progress_interval_s=0.05,
        )
    # the workers still get the scan's remaining tasks; their outcomes are unroutable, so they drop them
    wait_for(
        lambda: queue_depth(broker_url, task_queue) == 0, 60, "the workers to drain the ended scan's tasks"
    )


def test_pool_with_local_workers(broker_url: str, task_queue: str, bronze_event: dict[str, Any]) -> None:
    with open_pool("rabbitmq", workers=2, broker_url=broker_url, task_queue=task_queue) as pool:
        result = run_scan(
            ScanRequest("local", bronze_event, "online_gaussian", ((2, 0), (8, 4))),
            RecordingObserver(),
            pool=pool,
        )
    assert len(result["nside-2"]["data"]) == 48 and len(result["nside-8"]["data"]) >= 4 * 16
