"""The ``metrics`` job: brings the gauges and latency histograms of :mod:`skymist.metrics` up to date
from the store and the broker every ``metrics_sample_s``, and watches both for outages (shifters are
told through the outbox when one lasts longer than ``shifters_unreachable_after_s``).

Histograms observe what happened since the job started (rows and scans newer than its first look):
``skymist_notice_latency_seconds`` (the input's Kafka timestamp -> the broker's acknowledgement of
the notice, i.e. the row's ``sent_at``) and ``skymist_scan_stage_seconds`` (submitted -> first
progress, submitted -> final).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.outbox.queue import HELD_UNTIL, SINK_KAFKA
from skymist.runtime.checks import Probe, as_utc, broker_lag
from skymist.runtime.shifters import OutageWatch
from skymist.states import DeadLetterState, HeartbeatState, OutboxState, ScanState
from skymist.store.models import AlertRevision, DeadLetter, InboxMessage, OutboxRow
from skymist.store.ops_models import Heartbeat
from skymist.store.scan_models import Scan, ScanProgress
from skymist.store.types import utcnow

log = logging.getLogger(__name__)


class Sampler:
    def __init__(self, app: App) -> None:
        self.app = app
        self.metrics = app.metrics
        self.probe = Probe(app)
        self.store_watch = OutageWatch(app, "store")
        self.broker_watch = OutageWatch(app, "broker")
        self._outbox_mark: int | None = None
        self._observed: set[int] = set()
        self._scans_seen: set[int] = set()
        self._scans_started: set[int] = set()
        self._started_at = utcnow()

    def sample(self, now: dt.datetime | None = None) -> None:
        """Bring the gauges up to date and watch the store and the broker; ``now`` (the clock of the
        outage watches, the current time by default) lets a test age an outage without waiting."""
        try:
            self._store()
        except Exception as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            self.store_watch.seen(False, reason, now=now)
        else:
            self.store_watch.seen(True, now=now)
        try:
            lag = broker_lag(self.probe, self.app.settings.kafka_topics)
        except Exception as exc:
            self.broker_watch.seen(False, str(exc)[:200] or type(exc).__name__, now=now)
            self.probe.close()
        else:
            self.broker_watch.seen(True, now=now)
            for (topic, partition), behind in lag.items():
                self.metrics.consumer_lag.labels(topic, str(partition)).set(behind)

    def _store(self) -> None:
        now = utcnow()
        with self.app.sessions() as session:
            by_state = dict(
                session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all()
            )
            for state in OutboxState:
                self.metrics.outbox_rows.labels(state.value).set(by_state.get(state, 0))
            oldest = session.execute(
                select(func.min(OutboxRow.created_at)).where(
                    OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                    OutboxRow.next_attempt_at < HELD_UNTIL,
                )
            ).scalar_one()
            self.metrics.outbox_oldest_unsent.set((now - as_utc(oldest)).total_seconds() if oldest else 0.0)
            letters = dict(
                session.execute(select(DeadLetter.state, func.count()).group_by(DeadLetter.state)).all()
            )
            for letter_state in DeadLetterState:
                self.metrics.dead_letters.labels(letter_state.value).set(letters.get(letter_state, 0))
            scans = dict(session.execute(select(Scan.state, func.count()).group_by(Scan.state)).all())
            for scan_state in ScanState:
                self.metrics.scans.labels(scan_state.value).set(scans.get(scan_state, 0))
            last_beat = session.execute(
                select(func.max(Heartbeat.sent_at)).where(Heartbeat.state == HeartbeatState.RECEIVED)
            ).scalar_one()
            self.metrics.heartbeat_age.set((now - as_utc(last_beat)).total_seconds() if last_beat else -1)

            if self._outbox_mark is None:  # observe only what is sent from now on
                self._outbox_mark = session.execute(
                    select(func.coalesce(func.max(OutboxRow.id), 0))
                ).scalar_one()
            # rows are sent in any order: look at the unsent-at-mark window again until they are sent
            rows = session.execute(
                select(OutboxRow.id, OutboxRow.product, OutboxRow.sent_at, InboxMessage.produced_at)
                .join(
                    AlertRevision,
                    (AlertRevision.alert_id == OutboxRow.alert_id)
                    & (AlertRevision.revision == OutboxRow.revision),
                )
                .join(InboxMessage, InboxMessage.id == AlertRevision.inbox_id)
                .where(
                    OutboxRow.id > self._outbox_mark,
                    OutboxRow.sink == SINK_KAFKA,
                    OutboxRow.state == OutboxState.SENT,
                )
                .order_by(OutboxRow.id)
            ).all()
            for row_id, product, sent_at, produced_at in rows:
                if row_id in self._observed:
                    continue
                self._observed.add(row_id)
                if sent_at is not None and produced_at is not None:
                    latency = (as_utc(sent_at) - as_utc(produced_at)).total_seconds()
                    self.metrics.notice_latency.labels(product).observe(max(latency, 0.0))
            # advance the mark past every row that is settled; rows still unsent stay in the window
            unsent = session.execute(
                select(func.min(OutboxRow.id)).where(
                    OutboxRow.id > self._outbox_mark,
                    OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                )
            ).scalar_one()
            top = session.execute(select(func.coalesce(func.max(OutboxRow.id), 0))).scalar_one()
            self._outbox_mark = max(self._outbox_mark, (unsent - 1) if unsent is not None else top)
            self._observed = {row_id for row_id in self._observed if row_id > self._outbox_mark}
            self._scan_stages(session)

    def _scan_stages(self, session: Session) -> None:
        since = self._started_at - dt.timedelta(seconds=1)
        for scan in session.execute(
            select(Scan).where(Scan.submitted_at.is_not(None), Scan.updated_at >= since)
        ).scalars():
            assert scan.submitted_at is not None
            if scan.id not in self._scans_started:
                first = session.execute(
                    select(func.min(ScanProgress.at)).where(ScanProgress.scan_id == scan.id)
                ).scalar_one()
                if first is not None:
                    self._scans_started.add(scan.id)
                    self.metrics.scan_duration.labels("submitted_to_first_progress").observe(
                        max(0.0, (as_utc(first) - as_utc(scan.submitted_at)).total_seconds())
                    )
            if (
                scan.state == ScanState.FINAL
                and scan.finished_at is not None
                and scan.id not in self._scans_seen
            ):
                self._scans_seen.add(scan.id)
                self.metrics.scan_duration.labels("submitted_to_final").observe(
                    max(0.0, (as_utc(scan.finished_at) - as_utc(scan.submitted_at)).total_seconds())
                )

    def close(self) -> None:
        self.probe.close()
