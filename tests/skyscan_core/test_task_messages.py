"""Task messages of several pixel tasks: the format, and ``skyscan worker`` processes fitting them through
a real RabbitMQ broker (a pixel overrunning inside a message, a worker stopped inside a message)."""

from __future__ import annotations

import json
import math
import signal
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pika
import pytest

from skybase.event import RealtimeEvent
from skyscan.pixels import pixel_directions
from skyscan.recos import PixelFit, Vertex, get_reco
from skyscan.workers import OutcomeKind, PixelOutcome, PixelTask
from skyscan.workers.messages import (
    MESSAGE_VERSION,
    MessageError,
    decode_outcomes,
    decode_tasks,
    encode_outcomes,
    encode_tasks,
    group_tasks,
)
from skyscan.workers.rabbitmq import RabbitMQPool, tasks_per_message
from tests.skyscan_core.test_rabbitmq import queue_depth
from tests.support.pixel_gate import PixelGate
from tests.waiting import wait_for

StartWorkers = Callable[..., list[subprocess.Popen[bytes]]]


def nside_1_tasks(
    event: dict[str, Any], scan_id: str, options: dict[str, Any], **fields: Any
) -> list[PixelTask]:
    """The 12 tasks of nside 1 with the dummy reco's setup of ``options``."""
    setup = get_reco("dummy").prepare(RealtimeEvent.read(event), options)
    ra, dec = pixel_directions(1, list(range(12)))
    return [
        PixelTask(scan_id, "dummy", setup, 1, pixel, 0, float(ra[pixel]), float(dec[pixel]), **fields)
        for pixel in range(12)
    ]


def collect_until(channel: Any, done: Callable[[list[PixelOutcome]], bool], what: str) -> list[PixelOutcome]:
    outcomes: list[PixelOutcome] = []

    def arrived() -> bool:
        outcomes.extend(channel.collect(0.2))
        return done(outcomes)

    wait_for(arrived, 120, what, every_s=0)  # collect() itself waits up to 0.2 s
    return outcomes


def fitted(pixels: set[int]) -> Callable[[list[PixelOutcome]], bool]:
    return lambda outcomes: {o.pixel for o in outcomes if o.kind is OutcomeKind.FIT} >= pixels


# -- the format --------------------------------------------------------------------------------------------


def test_tasks_round_trip_in_one_message_with_their_deliveries(bronze_event: dict[str, Any]) -> None:
    tasks = nside_1_tasks(bronze_event, "s", {"seed": 3}, timeout_s=2.5, sent_at=1700000000.5)
    tasks[4] = replace(tasks[4], vertex=Vertex(1.0, 2.0, 3.0, 4.0), delivery=3)
    body = encode_tasks(tasks)
    message = json.loads(body)
    assert message["v"] == MESSAGE_VERSION == 2
    assert body.count(b'"setup"') == 1, "the setup travels once per message"
    assert decode_tasks(body) == tasks
    again = decode_tasks(body, redelivered=True)
    assert [t.delivery for t in again] == [t.delivery + 1 for t in tasks]


def test_tasks_are_grouped_in_order_by_what_they_share(bronze_event: dict[str, Any]) -> None:
    tasks = nside_1_tasks(bronze_event, "s", {}, sent_at=1.0)
    retry = replace(tasks[5], sent_at=2.0)  # a retry sent later shares no message with the others
    groups = group_tasks([*tasks[:5], retry, *tasks[6:]], 4)
    assert [[t.pixel for t in group] for group in groups] == [[0, 1, 2, 3], [4], [5], [6, 7, 8, 9], [10, 11]]
    with pytest.raises(ValueError, match="cannot share a message"):
        encode_tasks([tasks[0], retry])


def test_outcomes_round_trip_in_one_message() -> None:
    fit = PixelFit(12.5, 1.0, 2.0, 3.0, 4.0, 5.0, math.nan)
    outcomes = [
        PixelOutcome(OutcomeKind.FIT, "s", 8, 7, 0, fit=fit, runtime=0.25, worker="w", sent_at=9.0),
        PixelOutcome(OutcomeKind.TIMEOUT, "s", 8, 9, 1, error="too long", worker="w", delivery=2),
    ]
    decoded = decode_outcomes(encode_outcomes(outcomes))
    assert decoded[1] == outcomes[1]
    assert decoded[0].fit is not None and math.isnan(decoded[0].fit.T)
    assert replace(decoded[0], fit=None) == replace(outcomes[0], fit=None)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"v": 1, "scan_id": "s", "reco_algo": "dummy", "setup": {}, "nside": 1, "pixel": 0}',
        b'{"v": 2, "scan_id": "s", "reco_algo": "dummy", "setup": {}, "timeout_s": null, "sent_at": 0,'
        b' "pixels": []}',
    ],
)
def test_unreadable_task_messages_are_refused(body: bytes) -> None:
    with pytest.raises(MessageError):
        decode_tasks(body)


def test_tasks_per_message_gives_each_worker_many_messages() -> None:
    assert tasks_per_message(12, 2) == 1
    assert tasks_per_message(192, 2) == 8
    assert tasks_per_message(768, 0) == tasks_per_message(768, 1) == 8
    assert tasks_per_message(768, 64) == 1


# -- workers fitting several tasks per message --------------------------------------------------------------


@pytest.mark.slow
def test_a_pixel_overrunning_inside_a_message_is_timed_out_alone_and_redelivered(
    broker_url: str, task_queue: str, start_workers: StartWorkers, bronze_event: dict[str, Any]
) -> None:
    # the dummy reco delays first deliveries only: pixel 2 is on its first delivery and overruns, the
    # others of the message are sent as second deliveries and fit at once
    tasks = nside_1_tasks(bronze_event, "overrun-in-message", {"first_delivery_delay_s": 60.0}, timeout_s=0.5)
    message = [task if task.pixel == 2 else replace(task, delivery=2) for task in tasks[:6]]
    # the worker that abandons pixel 2 backs off longer than the test takes: the other one fits the rest
    start_workers(2, "--backoff-s", "600", "--prefetch", "1")
    with RabbitMQPool(broker_url, task_queue=task_queue, tasks_per_message=6) as pool:
        channel = pool.open_scan("overrun-in-message")
        try:
            channel.submit(message)
            outcomes = collect_until(channel, fitted(set(range(6))), "fits of all six pixels")
        finally:
            channel.close()
    (notice,) = [o for o in outcomes if o.kind is OutcomeKind.TIMEOUT]
    assert (notice.pixel, notice.delivery) == (2, 1), "only the overrunning pixel timed out"
    fits = {o.pixel: o for o in outcomes if o.kind is OutcomeKind.FIT}
    assert [o.pixel for o in outcomes[:3]] == [0, 1, 2], "the fits before the overrun came with the notice"
    assert {fits[0].worker, fits[1].worker} == {notice.worker}
    assert fits[2].delivery == 2, "the overrun pixel was redelivered, counted as delivered once more"
    assert {fits[p].delivery for p in (0, 1, 3, 4, 5)} == {2}, "the rest kept their delivery counts"
    assert {fits[p].worker for p in (2, 3, 4, 5)} == {fits[2].worker} != {notice.worker}, (
        "another worker took the overrun pixel and the tasks after it"
    )
    assert queue_depth(broker_url, task_queue) == 0


def test_a_worker_stopped_inside_a_message_reports_its_fits_and_gives_back_the_rest(
    broker_url: str,
    task_queue: str,
    start_workers: StartWorkers,
    bronze_event: dict[str, Any],
    tmp_path: Path,
) -> None:
    # the dummy reco's gate lets one fit through: pixel 0 (a second delivery) fits, pixel 1 (a first
    # delivery) waits at the gate, and the stop lands inside its fit
    gate = PixelGate(tmp_path / "gate")
    gate.hold(1)
    tasks = nside_1_tasks(bronze_event, "stopped-in-message", {})
    message = [task if task.pixel == 1 else replace(task, delivery=2) for task in tasks[:6]]
    (stopped,) = start_workers(1, "--prefetch", "1", env=gate.env)
    with RabbitMQPool(broker_url, task_queue=task_queue, tasks_per_message=6) as pool:
        channel = pool.open_scan("stopped-in-message")
        try:
            channel.submit(message)
            wait_for(lambda: gate.waiting("stopped-in-message", 1), 60, "pixel 1's fit at the gate")
            stopped.send_signal(signal.SIGTERM)
            assert stopped.wait(timeout=60) == 0
            gate.release()
            (other,) = start_workers(1)
            outcomes = collect_until(channel, fitted(set(range(6))), "fits of all six pixels")
        finally:
            channel.close()
    assert all(o.kind is OutcomeKind.FIT for o in outcomes)
    assert [o.pixel for o in outcomes] == list(range(6)), "each pixel fitted once, in the message's order"
    assert outcomes[0].worker.endswith(f":{stopped.pid}"), "the stopped worker reported its fit"
    assert all(o.worker.endswith(f":{other.pid}") for o in outcomes[1:]), "and gave the rest back"
    assert [o.delivery for o in outcomes] == [2] * 6, (
        "the interrupted task (pixel 1) counts as delivered once more, those after it not"
    )


def test_an_unreadable_task_message_is_rejected(
    broker_url: str, task_queue: str, start_workers: StartWorkers, bronze_event: dict[str, Any]
) -> None:
    start_workers(1)
    with RabbitMQPool(broker_url, task_queue=task_queue) as pool:
        channel = pool.open_scan("after-unreadable")
        try:
            connection = pika.BlockingConnection(pika.URLParameters(broker_url))
            try:
                connection.channel().basic_publish(
                    exchange="",
                    routing_key=task_queue,
                    body=b'{"v": 1, "scan_id": "after-unreadable"}',
                    properties=pika.BasicProperties(reply_to=channel.result_queue),
                )
            finally:
                connection.close()
            channel.submit(nside_1_tasks(bronze_event, "after-unreadable", {}))
            outcomes = collect_until(channel, fitted(set(range(12))), "fits after the unreadable message")
        finally:
            channel.close()
    assert all(o.kind is OutcomeKind.FIT for o in outcomes)
    assert queue_depth(broker_url, task_queue) == 0, "the unreadable message was rejected, not requeued"
