"""Heartbeat and loopback: synthetic test alerts through the real prompt path (Kafka in, inbox,
handler, outbox, dispatcher, Kafka out), read back from the output topics and compared byte for byte.

The soak runs ``SKYMIST_TEST_HEARTBEAT_SOAK_S`` seconds of daemon time (10 in the quick tier, 30 in
the long one, tests/tier.py; the closing figures of issue 9 are from a 600 s run) with a beat every
2 s, and prints its figures as JSON.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import pytest
from sqlalchemy import select

from skymist.runtime.checks import Probe, Status, check_heartbeat, check_loopback
from skymist.runtime.daemon import Daemon
from skymist.runtime.jobs import JobName, make_jobs, standard_inputs
from skymist.states import HeartbeatState, OutboxState
from skymist.store.models import Alert, OutboxRow
from skymist.store.ops_models import Heartbeat
from tests.conftest import MockKafka
from tests.tier import size

SOAK_S = float(size(10, 30, "SKYMIST_TEST_HEARTBEAT_SOAK_S"))


def beats(app: Any) -> list[Heartbeat]:
    with app.sessions() as session:
        return list(session.execute(select(Heartbeat).order_by(Heartbeat.id)).scalars())


def heartbeat_app(app_factory: Any, topic: str, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "kafka_topics": [topic],
        "heartbeat_interval_s": 2.0,
        "heartbeat_timeout_s": 15.0,
        "heartbeat_topic": f"{topic}-heartbeat",
        "heartbeat_notice_topic": f"{topic}-hb-notices",
        "heartbeat_voevent_topic": f"{topic}-hb-voevents",
        "kafka_session_timeout_ms": 6000,  # a restarted job's consumers rejoin their groups quickly
        **extra,
    }
    return app_factory(**values)


def run_daemon(app: Any, jobs: list[JobName], until: Any, cap_s: float) -> None:
    """Run the daemon's ``jobs`` in this process until ``until()`` (which must come within ``cap_s``)."""
    deadline = time.monotonic() + cap_s
    reached: list[bool] = []

    def done() -> bool:
        if until():
            reached.append(True)
            return True
        return time.monotonic() > deadline

    daemon = Daemon(app, make_jobs(jobs, standard_inputs(app)))
    assert daemon.run(until=done) == 0
    assert reached, f"not reached within {cap_s} s: {[(b.id, b.state, b.detail) for b in beats(app)]}"


@pytest.mark.slow
@pytest.mark.timeout(SOAK_S + 300)
def test_every_heartbeat_is_read_back_and_marked_received(
    app_factory: Any, kafka: MockKafka, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = heartbeat_app(app_factory, topic)
    started = time.monotonic()
    seen: list[int] = []  # the beats that were all received when the soak ended

    def soaked() -> bool:
        if time.monotonic() - started < SOAK_S:
            return False
        current = beats(app)
        if not current or any(beat.state != HeartbeatState.RECEIVED for beat in current):
            return False
        seen[:] = [beat.id for beat in current]
        return True

    run_daemon(app, [JobName.DISPATCH, JobName.HEARTBEAT], soaked, SOAK_S + 120)
    # a beat the heartbeat job emits while the daemon stops may still be on its way: judge the
    # beats that existed when the soak ended (their states are read again, after the stop)
    every = beats(app)
    settled = [beat for beat in every if beat.id in seen]
    states = [beat.state for beat in settled]
    assert len(settled) >= SOAK_S / 2 - 2  # one beat every 2 s
    assert set(states) == {HeartbeatState.RECEIVED}, [(b.id, b.state, b.detail) for b in settled]
    with app.sessions() as session:
        alerts = list(
            session.execute(select(Alert).where(Alert.run_id == app.settings.heartbeat_run_id)).scalars()
        )
        rows = list(session.execute(select(OutboxRow)).scalars())
    # through the prompt path: one alert per beat (a beat sent as the daemon stopped may not have been
    # read in yet: every settled beat has its alert, no beat has two), never a public name, test-tense
    # notices only
    alert_events = [alert.event_id for alert in alerts]
    assert len(alert_events) == len(set(alert_events)) <= len(every)
    assert {beat.event_id for beat in settled} <= set(alert_events)
    assert all(a.name and a.name.startswith("heartbeat-") for a in alerts)
    assert {row.destination for row in rows} == {f"{topic}-hb-notices", f"{topic}-hb-voevents"}
    assert all(json.loads(r.payload)["alert_tense"] == "test" for r in rows if r.product == "notice_json")
    settled_events = {beat.event_id for beat in settled}
    settled_alerts = {alert.id for alert in alerts if alert.event_id in settled_events}
    assert all(row.state == OutboxState.SENT for row in rows if row.alert_id in settled_alerts)
    probe = Probe(app)
    assert check_heartbeat(probe).status == Status.OK
    assert check_loopback(probe).status == Status.OK, [
        (b.id, b.state, b.sent_at, b.received_at) for b in beats(app)
    ]
    round_trips = [(b.received_at - b.sent_at).total_seconds() for b in settled if b.received_at]
    with capsys.disabled():
        print(
            json.dumps(
                {
                    "heartbeat_soak_s": SOAK_S,
                    "interval_s": app.settings.heartbeat_interval_s,
                    "beats_sent": len(settled),
                    "beats_received": states.count(HeartbeatState.RECEIVED),
                    "notices_read_back": sum(b.products_read for b in settled),
                    "round_trip_s": {
                        "median": round(statistics.median(round_trips), 3),
                        "max": round(max(round_trips), 3),
                    },
                }
            )
        )


@pytest.mark.slow
def test_a_tampered_read_back_is_critical_and_shifters_are_told(
    app_factory: Any, kafka: MockKafka, topic: str
) -> None:
    app = heartbeat_app(app_factory, topic, heartbeat_interval_s=3600.0, slack_mode="console")
    notices = f"{topic}-hb-notices"
    forged: dict[str, bool] = {}
    producer = kafka.producer()

    def forge_once() -> bool:
        """While nothing sends the beat's real notices (no dispatch job), put forged bytes on the
        output topic under the beat's key; done when the loopback has judged it."""
        current = beats(app)
        if not current:
            return False
        beat = current[0]
        if not forged:
            key = f"{beat.run_id}_{beat.event_id}".encode()
            with app.sessions() as session:
                queued = session.execute(
                    select(OutboxRow).where(OutboxRow.destination == notices)
                ).scalar_one_or_none()
            if queued is None:
                return False  # the beat has not gone through the prompt path yet
            producer.produce(notices, queued.payload.replace(b'"test"', b'"current"'), key=key)
            producer.flush(10)
            forged["done"] = True
        return beat.state == HeartbeatState.MISMATCH

    run_daemon(app, [JobName.HEARTBEAT], forge_once, 300)
    [beat] = beats(app)
    assert beat.state == HeartbeatState.MISMATCH and "differs" in (beat.detail or "")
    probe = Probe(app)
    result = check_loopback(probe)
    assert result.status == Status.CRITICAL and f"heartbeat {beat.id} mismatch" in result.summary
    with app.sessions() as session:
        told = session.execute(select(OutboxRow).where(OutboxRow.product == "slack_ops")).scalar_one()
    assert "mismatch" in json.loads(told.payload)["text"]

    # recovery: the daemon runs with its dispatcher; the next beat comes back byte for byte
    def next_received() -> bool:
        return any(b.state == HeartbeatState.RECEIVED for b in beats(app))

    run_daemon(app, [JobName.DISPATCH, JobName.HEARTBEAT], next_received, 300)  # a loaded machine is slow
    assert check_loopback(probe).status == Status.OK, [
        (b.id, b.state, b.sent_at, b.received_at) for b in beats(app)
    ]
    assert check_heartbeat(probe).status == Status.OK


@pytest.mark.slow
def test_a_beat_not_read_back_is_missing_soon_after_its_timeout_even_when_beats_are_rare(
    app_factory: Any, kafka: MockKafka, topic: str
) -> None:
    """One beat an hour, 3 s to come back, and no dispatcher to send its notices: the beat is found
    missing within seconds of its timeout, not an hour later at the next beat; when its notices are
    sent after all, the late read-back settles it as received."""
    app = heartbeat_app(app_factory, topic, heartbeat_interval_s=3600.0, heartbeat_timeout_s=3.0)
    run_daemon(
        app, [JobName.HEARTBEAT], lambda: [b.state for b in beats(app)] == [HeartbeatState.MISSING], 60
    )
    [beat] = beats(app)
    assert beat.detail == "0 notice(s) read back within 3 s"
    assert check_loopback(Probe(app)).status == Status.CRITICAL

    # the dispatcher comes back and sends the missing beat's notices: read back late, it is received
    def first_received() -> bool:
        return beats(app)[0].state == HeartbeatState.RECEIVED

    run_daemon(app, [JobName.DISPATCH, JobName.HEARTBEAT], first_received, 300)
    late = beats(app)[0]
    assert late.id == beat.id and late.products_read == 2 and late.rows_read and len(late.rows_read) == 2
    assert late.detail == "2 notice(s) read back (late)"
