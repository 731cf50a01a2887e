"""Heartbeat and loopback: a synthetic test alert through the whole prompt path, read back.

Every ``heartbeat_interval_s`` the ``heartbeat`` job produces a synthetic alert envelope (run
``heartbeat_run_id``, a fresh event id) to ``heartbeat_topic`` and records a :class:`Heartbeat` row
(``sent``). The same job consumes that topic through the real ingest path (inbox, parser, prompt
handler) with the heartbeat's own routing: ``alert_tense`` test, notices to
``heartbeat_notice_topic`` / ``heartbeat_voevent_topic``, no Slack message, no scans; the daemon's
``dispatch`` job sends the notices like any other. The loopback reader consumes the two output topics
and compares each message, byte for byte, with the payload of the outbox row that sent it; when every
Kafka row of the beat's alert was read back equal, the beat is ``received``. A difference is
``mismatch``; not all read back within ``heartbeat_timeout_s`` is ``missing``: both are CRITICAL in
``skymist check`` and a message to the shifters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from skymist.app import App
from skymist.config import Settings
from skymist.ingest.consumer import StreamConsumer
from skymist.ingest.inbox import Ingestor
from skymist.outbox import keys
from skymist.outbox.queue import SINK_KAFKA
from skymist.runtime.job_names import JobName
from skymist.runtime.shifters import tell_in
from skymist.runtime.simulate import SimulatedAlert, envelope_message
from skymist.states import HeartbeatState, check_transition
from skymist.store.models import Alert, OutboxRow
from skymist.store.ops_models import Heartbeat
from skymist.store.types import utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from skymist.kafka_clients import KafkaConsumer, KafkaProducer

log = logging.getLogger(__name__)

_EPOCH_2020 = 1_577_836_800.0  # 2020-01-01T00:00:00Z

#: size of the synthetic event's detector frames (small: the beat tests the path, not the load)
HEARTBEAT_MESSAGE_BYTES = 4_000

#: how often beats past ``heartbeat_timeout_s`` are looked for (or every beat, if beats are more often)
EXPIRY_CHECK_S = 5.0


def heartbeat_settings(settings: Settings) -> Settings:
    """The routing of heartbeat alerts: test tense and topics, no Slack, no scans, own group."""
    return settings.model_copy(
        update={
            "alert_tense": "test",
            "voevent_role": "test",
            "notice_topic": settings.heartbeat_notice_topic,
            "voevent_topic": settings.heartbeat_voevent_topic,
            "slack_mode": "off",
            "scans_enabled": False,
            "kafka_group_id": f"{settings.kafka_group_id}-heartbeat",
        }
    )


def _kafka_rows(session: Session, beat: Heartbeat) -> list[OutboxRow]:
    """The outbox's Kafka rows of the beat's alert."""
    return list(
        session.execute(
            select(OutboxRow)
            .join(Alert, Alert.id == OutboxRow.alert_id)
            .where(
                Alert.run_id == beat.run_id,
                Alert.event_id == beat.event_id,
                OutboxRow.sink == SINK_KAFKA,
            )
        ).scalars()
    )


def synthetic_envelope(settings: Settings, event_id: int, when: dt.datetime) -> bytes:
    rng = random.Random(event_id)
    alert = SimulatedAlert(
        run_id=settings.heartbeat_run_id,
        event_id=event_id,
        event_time=when,
        zenith_rad=1.2,
        azimuth_rad=2.0,
        stream="BRONZE",
        signalness=0.4,
        far_per_year=1.0,
        energy_tev=100.0,
    )
    return json.dumps(envelope_message(alert, rng, HEARTBEAT_MESSAGE_BYTES)).encode()


class Loopback:
    """Settles heartbeats from what is read back on the output topics (one store transaction each)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def read_back(self, topic: str | None, key: bytes | None, value: bytes) -> HeartbeatState | None:
        """Compare one read-back message with what the outbox sent; the beat's state after it
        (None: not a heartbeat's message)."""
        event_id = self._beat_event_id(key)
        if event_id is None:
            return None
        with self.app.sessions() as session, session.begin():
            beat = session.execute(
                select(Heartbeat).where(Heartbeat.event_id == event_id).with_for_update()
            ).scalar_one_or_none()
            if beat is None or beat.state in (HeartbeatState.RECEIVED, HeartbeatState.MISMATCH):
                return beat.state if beat is not None else None
            rows = _kafka_rows(session, beat)
            sent = [row for row in rows if row.destination == topic]
            match = next((row for row in sent if row.payload == value), None)
            if match is not None:
                self._count_read(beat, match, rows)
            else:
                beat.state = check_transition(beat.state, HeartbeatState.MISMATCH)
                beat.detail = (
                    f"read back from {topic} ({len(value)} bytes) differs from what the outbox sent "
                    f"({', '.join(str(len(r.payload)) for r in sent) or 'nothing'} bytes)"
                )
                self._tell(session, beat)
            return beat.state

    def _beat_event_id(self, key: bytes | None) -> int | None:
        """The event id of a heartbeat's message key (``{run}_{event}``, the heartbeat run), or None."""
        if key is None:
            return None
        run, _, event = key.decode(errors="replace").partition("_")
        if not (run.isdigit() and event.isdigit()) or int(run) != self.app.settings.heartbeat_run_id:
            return None
        return int(event)

    def _count_read(self, beat: Heartbeat, match: OutboxRow, rows: list[OutboxRow]) -> None:
        """One more of the beat's rows read back; received once all of them are."""
        read = set(beat.rows_read or []) | {match.id}
        beat.rows_read = sorted(read)  # a new list: the JSON column is written again
        beat.products_read = len(read)
        if read >= {row.id for row in rows}:
            late = beat.state == HeartbeatState.MISSING
            beat.state = check_transition(beat.state, HeartbeatState.RECEIVED)
            beat.received_at = utcnow()
            beat.detail = f"{len(read)} notice(s) read back" + (" (late)" if late else "")
            self.app.metrics.inc("heartbeats_received")

    def expire(self, now: dt.datetime | None = None) -> int:
        """Beats still ``sent`` after ``heartbeat_timeout_s`` become ``missing``; returns how many."""
        at = now or utcnow()
        cutoff = at - dt.timedelta(seconds=self.app.settings.heartbeat_timeout_s)
        with self.app.sessions() as session, session.begin():
            beats = list(
                session.execute(
                    select(Heartbeat)
                    .where(Heartbeat.state == HeartbeatState.SENT, Heartbeat.sent_at < cutoff)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            for beat in beats:
                beat.state = check_transition(beat.state, HeartbeatState.MISSING)
                timeout = self.app.settings.heartbeat_timeout_s
                beat.detail = f"{beat.products_read} notice(s) read back within {timeout:g} s"
                self._tell(session, beat)
        return len(beats)

    def _tell(self, session: Session, beat: Heartbeat) -> None:
        self.app.metrics.inc("heartbeats_failed")
        log.error(
            "heartbeat failed", extra={"heartbeat": beat.id, "state": beat.state.value, "detail": beat.detail}
        )
        tell_in(
            session,
            self.app,
            key=keys.heartbeat_failure(beat.id, beat.state.value),
            title=f"heartbeat {beat.state.value}",
            detail=(
                f"Heartbeat {beat.id} (event {beat.run_id}_{beat.event_id}) is {beat.state.value}: "
                f"{beat.detail}"
            ),
            hint="The prompt path may not publish what it should: check `skymist check` and the runbook.",
        )


class HeartbeatJob:
    """The ``heartbeat`` job: three loops in threads (beat, ingest of beats, loopback reader)."""

    def __init__(
        self,
        app: App,
        make_producer: Callable[[], KafkaProducer],
        make_consumer: Callable[[Settings], KafkaConsumer],
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.name = JobName.HEARTBEAT
        self.app = app
        self.settings = app.settings
        self.beat_app = dataclasses.replace(app, settings=heartbeat_settings(app.settings))
        self.make_producer = make_producer
        self.make_consumer = make_consumer
        self.clock = clock
        self.loopback = Loopback(app)
        self.halt = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None
        self._last_event_id = 0

    # --- the three loops --------------------------------------------------------------------------
    def beat_once(self, producer: KafkaProducer) -> int:
        """Send one synthetic alert; returns the heartbeat id."""
        now = self.clock()
        # tenths of a second since 2020: unique per beat, and within IceTray's 32-bit event ids
        event_id = max(int((now.timestamp() - _EPOCH_2020) * 10), self._last_event_id + 1)
        self._last_event_id = event_id
        with self.app.sessions() as session, session.begin():
            beat = Heartbeat(run_id=self.settings.heartbeat_run_id, event_id=event_id, sent_at=now)
            session.add(beat)
            session.flush()
            beat_id = beat.id
        producer.produce(
            self.settings.heartbeat_topic,
            synthetic_envelope(self.settings, event_id, now),
            key=keys.event_ref(self.settings.heartbeat_run_id, event_id).encode(),
        )
        producer.flush(self.settings.sink_timeout_s)
        self.app.metrics.inc("heartbeats_sent")
        return beat_id

    def _beat_loop(self) -> None:
        producer = self.make_producer()
        next_at = next_expiry = time.monotonic()
        # a beat not read back is found missing within a few seconds of its timeout, not at the next beat
        expiry_every = min(self.settings.heartbeat_interval_s, EXPIRY_CHECK_S)
        while not self.halt.is_set():
            if time.monotonic() >= next_at:
                next_at += self.settings.heartbeat_interval_s
                try:
                    self.beat_once(producer)
                except Exception:
                    log.warning("heartbeat not sent", exc_info=True)
            if time.monotonic() >= next_expiry:
                next_expiry = time.monotonic() + expiry_every
                try:
                    self.loopback.expire(self.clock())
                except Exception:
                    log.warning("heartbeat expiry failed", exc_info=True)
            self.halt.wait(min(0.2, max(0.0, min(next_at, next_expiry) - time.monotonic())))
        producer.flush(self.settings.sink_timeout_s)

    def _ingest_loop(self) -> None:
        consumer = self.make_consumer(self.beat_app.settings)
        stream = StreamConsumer(
            consumer, Ingestor(self.beat_app), [self.settings.heartbeat_topic], 10, lambda _results: None
        )
        try:
            while not self.halt.is_set():
                stream.poll_once(0.2)
        finally:
            stream.close()

    def _loopback_loop(self) -> None:
        settings = self.beat_app.settings
        consumer = self.make_consumer(
            settings.model_copy(
                update={
                    "kafka_group_id": f"{self.settings.kafka_group_id}-loopback",
                    "kafka_bootstrap_servers": settings.notice_brokers,  # where the notices went
                }
            )
        )
        consumer.subscribe([settings.notice_topic, settings.voevent_topic])
        try:
            while not self.halt.is_set():
                message = consumer.poll(0.2)
                if message is None or message.error() is not None:
                    continue
                try:
                    self.loopback.read_back(message.topic(), message.key(), message.value() or b"")
                except Exception:
                    log.warning("loopback read-back failed", exc_info=True)
                consumer.store_offsets(message=message)
        finally:
            consumer.close()

    # --- the Job protocol ------------------------------------------------------------------------
    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as exc:
                log.exception("job ended by an error", extra={"job": self.name.value})
                self._failure = exc

        return run

    def start(self) -> None:
        for name, loop in (
            ("heartbeat-beat", self._beat_loop),
            ("heartbeat-ingest", self._ingest_loop),
            ("heartbeat-loopback", self._loopback_loop),
        ):
            thread = threading.Thread(target=self._guard(loop), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.halt.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def failure(self) -> BaseException | None:
        return self._failure
