"""The scan tracker: submits planned scans, polls running ones, and handles every failure the backend has.

Each tick claims due scan rows (``FOR UPDATE SKIP LOCKED`` and a lease, so several daemons share the
work), talks to the backend outside any transaction, and records one :class:`Decision` per scan in a
transaction that checks the lease is still ours. What it does per scan state:

- ``planned``: ``POST /scan`` tagged with the row's request key (a retry never creates a second scan:
  the client looks the key up first); a 400 fails the scan.
- ``submitted`` / ``running`` / ``partial``: ``GET /scan/{id}/status`` and the manifest's progress
  (a snapshot row each time it changes); the first partial result and later ones are stored; the
  final result is stored verbatim and the alert moves to ``localized_pending``.
- a 302 (the scan was replaced): the new backend id is recorded and followed.
- aborted or finished without a result, deleted, or no progress for ``scan_stuck_after_s``: a rescan
  (``abort_first`` when stuck, always ``replace_scan``), up to ``scan_max_rescans``, then failed.
- backend unreachable or 5xx: exponential backoff with jitter; shifters are told once per outage.
- past the deadline: failed (the backend scan is deleted), shifters told.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import uuid
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from scanner_client import (
    BadRequestError,
    LaunchScanRequest,
    NotFoundError,
    OutcomeUnknownError,
    ReplacedError,
    ScannerError,
    ScannerHTTPError,
    ScannerTransportError,
    ScannerValidationError,
    ServerError,
)
from scanner_client.backend import ScannerBackend
from scanner_client.models import Manifest
from scanner_client.models import ScanState as BackendState
from skybase.json_types import JSONObject, JSONValue
from skymist.app import App
from skymist.ingest.messages import event_document
from skymist.scans.milestones import Milestone, queue_milestone
from skymist.states import AlertState, ScanState, check_transition
from skymist.store.models import Alert, AlertRevision, InboxMessage
from skymist.store.scan_models import Scan, ScanProgress
from skymist.store.types import utcnow

log = logging.getLogger(__name__)

ACTIVE = (ScanState.PLANNED, ScanState.SUBMITTED, ScanState.RUNNING, ScanState.PARTIAL)
REALTIME_PRIORITY = 100


@dataclass(frozen=True)
class ScanJob:
    """A claimed scan, detached from the session."""

    id: int
    alert_id: int
    revision: int
    subject: str
    state: ScanState
    plan: JSONObject
    priority: int
    request_key: str
    backend_scan_id: str | None
    rescans: int
    attempts: int
    deadline_at: dt.datetime
    last_progress_at: dt.datetime | None
    progress_mark: str | None
    has_partial: bool
    progress_percent: float | None
    event: JSONObject | None


@dataclass
class Decision:
    """What the backend said, to be recorded for one scan."""

    new_state: ScanState | None = None
    backend_scan_id: str | None = None
    backend_state: str | None = None
    progress: ProgressReading | None = None
    partial_result: bytes | None = None
    result: bytes | None = None
    error: str | None = None
    backend_failed: bool = False
    rescanned: bool = False
    milestones: list[Milestone] = field(default_factory=list)
    detail: str | None = None
    poll_soon: bool = False


@dataclass(frozen=True)
class ProgressReading:
    percent: float | None
    pixels_done: int | None
    pixels_total: int | None
    predicted_end: dt.datetime | None
    summary: str | None
    mark: str


def read_progress(manifest: Manifest, backend_state: str) -> ProgressReading:
    """Percent, pixels and predicted end from a manifest's ``progress`` (SkyDriver's tallies)."""
    progress = manifest.progress
    if progress is None:
        return ProgressReading(None, None, None, None, None, f"{backend_state}|no-progress")
    pixels = (progress.tallies.get("overall") or {}).get("pixels") or {}
    done = _int(pixels.get("done"))
    total_estimate = max(
        _int(pixels.get("initial approximation total")) or 0, _int(pixels.get("generated")) or 0
    )
    total = total_estimate or None
    percent = min(100.0, 100.0 * done / total) if done is not None and total else None
    predicted = None
    end_text = (progress.processing_stats.predictions or {}).get("end")
    if isinstance(end_text, str):
        try:
            predicted = dt.datetime.strptime(end_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
        except ValueError:
            predicted = None
    mark = f"{backend_state}|{progress.last_updated}|{done}"
    return ProgressReading(percent, done, total, predicted, progress.summary, mark)


def _int(value: JSONValue) -> int | None:
    try:
        return None if value is None else int(float(value))
    except (TypeError, ValueError):
        return None


def _describe(exc: ScannerError) -> str:
    text = str(exc)
    return text if len(text) < 400 else text[:400] + "..."


class ScanTracker:
    def __init__(self, app: App, client: ScannerBackend, owner: str | None = None, batch: int = 20) -> None:
        self.app = app
        self.client = client
        self.owner = owner or f"tracker-{uuid.uuid4().hex[:10]}"
        self.batch = batch
        self.rng = random.Random()

    # -- claim ----------------------------------------------------------------------------------------
    def _claim(self, session: Session, now: dt.datetime) -> list[ScanJob]:
        settings = self.app.settings
        rows = (
            session.execute(
                select(Scan)
                .where(
                    Scan.state.in_(ACTIVE),
                    Scan.next_check_at <= now,
                    or_(Scan.lease_until.is_(None), Scan.lease_until < now),
                )
                .order_by(Scan.priority.desc(), Scan.next_check_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        jobs = []
        lease = now + dt.timedelta(seconds=settings.scan_lease_s)
        for scan in rows:
            scan.lease_until, scan.lease_owner = lease, self.owner
            alert = session.get(Alert, scan.alert_id)
            assert alert is not None
            event = self._event(session, scan) if scan.state == ScanState.PLANNED else None
            jobs.append(
                ScanJob(
                    id=scan.id,
                    alert_id=scan.alert_id,
                    revision=scan.revision,
                    subject=alert.name or f"{alert.run_id}_{alert.event_id}",
                    state=scan.state,
                    plan=dict(scan.plan),
                    priority=scan.priority,
                    request_key=scan.request_key,
                    backend_scan_id=scan.backend_scan_id,
                    rescans=scan.rescans,
                    attempts=scan.attempts,
                    deadline_at=scan.deadline_at,
                    last_progress_at=scan.last_progress_at,
                    progress_mark=scan.progress_mark,
                    has_partial=scan.partial_result is not None,
                    progress_percent=scan.progress_percent,
                    event=event,
                )
            )
        return jobs

    @staticmethod
    def _event(session: Session, scan: Scan) -> JSONObject | None:
        """The realtime (i3live) message of the scanned revision, from the inbox's raw bytes."""
        raw = session.execute(
            select(InboxMessage.raw)
            .join(AlertRevision, AlertRevision.inbox_id == InboxMessage.id)
            .where(AlertRevision.alert_id == scan.alert_id)
            .order_by(AlertRevision.revision)
            .limit(1)
        ).scalar()
        if raw is None:
            return None
        return event_document(json.loads(raw))

    # -- talk to the backend ---------------------------------------------------------------------------
    def _work(self, job: ScanJob, now: dt.datetime) -> Decision:
        if now > job.deadline_at:
            return self._past_deadline(job)
        try:
            if job.state == ScanState.PLANNED:
                return self._submit(job)
            return self._poll(job, now)
        except ReplacedError as exc:
            return Decision(
                backend_scan_id=exc.new_scan_id,
                poll_soon=True,
                detail=f"backend scan {job.backend_scan_id} was replaced by {exc.new_scan_id}",
            )
        except (ScannerTransportError, ServerError, OutcomeUnknownError) as exc:
            return Decision(backend_failed=True, error=_describe(exc))
        except ScannerHTTPError as exc:
            if exc.status == 429:
                return Decision(backend_failed=True, error=_describe(exc))
            return Decision(
                new_state=ScanState.FAILED,
                error=_describe(exc),
                milestones=["failed"],
                detail=f"the scanner backend refused the scan: {_describe(exc)}",
            )
        except ScannerError as exc:
            return Decision(backend_failed=True, error=_describe(exc))

    def _submit(self, job: ScanJob) -> Decision:
        if job.event is None:
            return Decision(
                new_state=ScanState.FAILED,
                milestones=["failed"],
                error="no realtime event message is stored for this alert (a mirrored GCN alert?)",
                detail="cannot scan: the alert has no realtime event message",
            )
        plan = job.plan
        try:
            request = LaunchScanRequest(
                docker_tag=plan["docker_tag"],
                cluster={plan["cluster"]: int(plan["workers"])},
                reco_algo=plan["reco_algo"],
                event_i3live_json=job.event,
                nsides={int(k): int(v) for k, v in plan["nsides"].items()},
                real_or_simulated_event="real",
                max_pixel_reco_time=int(plan["max_pixel_reco_time_s"]),
                predictive_scanning_threshold=float(plan["predictive_scanning_threshold"]),
                priority=job.priority,
                classifiers={"skymist_alert": job.subject[:25], "skymist_scan": job.id},
                worker_memory=plan.get("worker_memory"),
                scanner_server_memory=plan.get("scanner_server_memory"),
            )
        except (ValueError, ScannerValidationError) as exc:
            return Decision(
                new_state=ScanState.FAILED,
                error=f"invalid scan request: {exc}",
                milestones=["failed"],
                detail=f"invalid scan request: {exc}",
            )
        try:
            manifest = self.client.launch_scan(request, request_key=job.request_key)
        except BadRequestError as exc:
            return Decision(
                new_state=ScanState.FAILED,
                error=_describe(exc),
                milestones=["failed"],
                detail=f"the scanner backend refused the scan: {exc.message}",
            )
        return Decision(
            new_state=ScanState.SUBMITTED,
            backend_scan_id=manifest.scan_id,
            milestones=["started"],
            backend_state="submitted",
            poll_soon=True,
        )

    def _poll(self, job: ScanJob, now: dt.datetime) -> Decision:
        assert job.backend_scan_id is not None
        backend_id = job.backend_scan_id
        try:
            status = self.client.get_status(backend_id, follow_replaced=False)
        except NotFoundError as exc:
            return Decision(
                new_state=ScanState.FAILED,
                error=_describe(exc),
                milestones=["failed"],
                detail=f"the backend no longer knows scan {backend_id}",
            )
        state = status.state
        if state is BackendState.SCAN_HAS_FINAL_RESULT or status.scan_complete:
            final = self._final(backend_id, status.scan_state)
            if final is not None:
                return final
        if status.is_deleted or (
            state is not None and state.stopped and state is not BackendState.SCAN_HAS_FINAL_RESULT
        ):
            return self._rescan(
                job, abort_first=False, why=f"the backend scan stopped without a result ({status.scan_state})"
            )
        decision = self._progress(job, backend_id, status.scan_state, state)
        assert decision.progress is not None
        last_change = now if decision.progress.mark != job.progress_mark else (job.last_progress_at or now)
        if (now - last_change).total_seconds() > self.app.settings.scan_stuck_after_s:
            stuck_s = (now - last_change).total_seconds()
            return self._rescan(
                job, abort_first=True, why=f"no progress for {stuck_s:.0f} s ({status.scan_state})"
            )
        return decision

    def _final(self, backend_id: str, scan_state: str) -> Decision | None:
        """The final result, when the backend has one (None: not final after all)."""
        fetched = self.client.get_result_raw(backend_id, include_deleted=True, no_redirect=True)
        if fetched is None or not fetched.result.is_final:
            return None
        manifest = self.client.get_manifest(backend_id, follow_replaced=False)
        final = read_progress(manifest, scan_state)
        return Decision(
            new_state=ScanState.FINAL,
            backend_state=scan_state,
            result=fetched.raw,
            milestones=["final"],
            progress=ProgressReading(
                100.0,
                final.pixels_done,
                final.pixels_done or final.pixels_total,
                None,
                "final result",
                f"final|{backend_id}",
            ),
        )

    def _progress(
        self, job: ScanJob, backend_id: str, scan_state: str, state: BackendState | None
    ) -> Decision:
        """A running scan's progress, its new partial result (if any) and the milestones it passed."""
        decision = Decision(backend_state=scan_state)
        manifest = self.client.get_manifest(backend_id, follow_replaced=False)
        reading = read_progress(manifest, scan_state)
        decision.progress = reading
        changed = reading.mark != job.progress_mark
        if state is BackendState.IN_PROGRESS__PARTIAL_RESULT_GENERATED and (changed or not job.has_partial):
            fetched = self.client.get_result_raw(backend_id, no_redirect=True)
            if fetched is not None and not fetched.result.is_final:
                decision.partial_result = fetched.raw
                if not job.has_partial:
                    decision.milestones.append("first_partial")
        if job.state == ScanState.SUBMITTED and state is not None and state.value.startswith("IN_PROGRESS"):
            decision.new_state = ScanState.RUNNING
        if decision.partial_result is not None:
            decision.new_state = ScanState.PARTIAL
        if reading.percent is not None and reading.percent >= 50.0 and (job.progress_percent or 0.0) < 50.0:
            decision.milestones.append("half")
        return decision

    def _rescan(self, job: ScanJob, *, abort_first: bool, why: str) -> Decision:
        assert job.backend_scan_id is not None
        if job.rescans >= self.app.settings.scan_max_rescans:
            return Decision(
                new_state=ScanState.FAILED,
                error=why,
                milestones=["failed"],
                detail=f"{why}; gave up after {job.rescans} rescan(s)",
            )
        manifest = self.client.rescan(job.backend_scan_id, abort_first=abort_first, replace_scan=True)
        log.warning(
            "scan rescanned",
            extra={"scan_id": job.id, "old": job.backend_scan_id, "new": manifest.scan_id, "why": why},
        )
        return Decision(
            new_state=ScanState.SUBMITTED,
            backend_scan_id=manifest.scan_id,
            rescanned=True,
            error=why,
            poll_soon=True,
            backend_state="rescanned",
        )

    def _past_deadline(self, job: ScanJob) -> Decision:
        if job.backend_scan_id is not None:
            try:
                self.client.delete_scan(job.backend_scan_id, no_redirect=True)
            except ScannerError as exc:
                log.warning("could not delete a scan past its deadline", extra={"error": _describe(exc)})
        why = f"no final result by the deadline {job.deadline_at:%Y-%m-%d %H:%M:%S} UTC"
        return Decision(new_state=ScanState.FAILED, error=why, milestones=["failed"], detail=why)

    # -- record ----------------------------------------------------------------------------------------
    def _record(self, session: Session, job: ScanJob, decision: Decision, now: dt.datetime) -> None:
        settings = self.app.settings
        scan = session.get(Scan, job.id, with_for_update=True)
        if scan is None or scan.lease_owner != self.owner:
            return  # our lease ran out and another tracker took the scan over
        scan.lease_until = scan.lease_owner = None
        cadence = (
            settings.scan_poll_realtime_s if scan.priority >= REALTIME_PRIORITY else settings.scan_poll_s
        )
        if decision.backend_failed:
            self._record_failure(session, scan, job, decision, now)
            return
        scan.attempts = 0
        scan.backend_down_told = False
        if decision.backend_scan_id is not None and decision.backend_scan_id != scan.backend_scan_id:
            scan.backend_scan_id = decision.backend_scan_id
            scan.last_progress_at = now
        if decision.backend_state is not None:
            scan.backend_state = decision.backend_state
        if decision.rescanned:
            scan.rescans += 1
            scan.progress_mark = None
        if decision.error is not None:
            scan.last_error = decision.error
        if decision.progress is not None:
            self._record_progress(session, scan, decision.progress, decision.backend_state, now)
        if decision.partial_result is not None:
            scan.partial_result = decision.partial_result
        self._record_state(session, scan, decision, now)
        for milestone in decision.milestones:
            self._milestone(session, scan, job, milestone, detail=decision.detail)
        scan.next_check_at = now + dt.timedelta(seconds=0.5 if decision.poll_soon else cadence)

    def _record_failure(
        self, session: Session, scan: Scan, job: ScanJob, decision: Decision, now: dt.datetime
    ) -> None:
        """The backend could not be asked: back off (jittered), and tell the shifters once per outage."""
        settings = self.app.settings
        first_failure = scan.attempts == 0
        scan.attempts += 1
        scan.last_error = decision.error
        delay = min(settings.scan_backoff_max_s, 2.0 ** min(scan.attempts, 16)) * self.rng.uniform(0.5, 1.5)
        scan.next_check_at = now + dt.timedelta(seconds=min(delay, settings.scan_backoff_max_s))
        if first_failure and not scan.backend_down_told:
            scan.outages += 1
            scan.backend_down_told = True
            self._milestone(
                session,
                scan,
                job,
                "backend_down",
                key_suffix=f":{scan.outages}",
                detail=f"cannot reach the scanner backend: {decision.error}; retrying with backoff",
            )

    @staticmethod
    def _record_progress(
        session: Session, scan: Scan, reading: ProgressReading, backend_state: str | None, now: dt.datetime
    ) -> None:
        """A progress reading: a new mark is one row of the scan's progress history."""
        if reading.mark != scan.progress_mark:
            scan.progress_mark = reading.mark
            scan.last_progress_at = now
            session.add(
                ScanProgress(
                    scan_id=scan.id,
                    at=now,
                    backend_scan_id=scan.backend_scan_id or "",
                    backend_state=backend_state or "",
                    percent=reading.percent,
                    pixels_done=reading.pixels_done,
                    pixels_total=reading.pixels_total,
                    predicted_end=reading.predicted_end,
                    summary=reading.summary,
                )
            )
        if reading.percent is not None:
            scan.progress_percent = reading.percent
        scan.pixels_done = reading.pixels_done if reading.pixels_done is not None else scan.pixels_done
        scan.pixels_total = reading.pixels_total if reading.pixels_total is not None else scan.pixels_total
        scan.predicted_end = reading.predicted_end or scan.predicted_end

    def _record_state(self, session: Session, scan: Scan, decision: Decision, now: dt.datetime) -> None:
        """The scan's new state; a final result makes its alert ``localized_pending``."""
        if decision.new_state is not None and decision.new_state != scan.state:
            scan.state = check_transition(scan.state, decision.new_state)
            if scan.state == ScanState.SUBMITTED and scan.submitted_at is None:
                scan.submitted_at = now
                scan.last_progress_at = now
        elif decision.new_state == ScanState.SUBMITTED and decision.rescanned:
            scan.state = check_transition(scan.state, ScanState.SUBMITTED)
        if decision.result is not None:
            scan.result = decision.result
            scan.finished_at = now
            self._localized_pending(session, scan.alert_id)
        if scan.state in (ScanState.FAILED, ScanState.ABORTED):
            scan.finished_at = now

    @staticmethod
    def _localized_pending(session: Session, alert_id: int) -> None:
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is None or alert.state in (
            AlertState.RETRACTED,
            AlertState.MIRRORED,
            AlertState.LOCALIZED_PENDING,
        ):
            return
        alert.state = check_transition(alert.state, AlertState.LOCALIZED_PENDING)

    def _milestone(
        self,
        session: Session,
        scan: Scan,
        job: ScanJob,
        milestone: Milestone,
        *,
        key_suffix: str = "",
        detail: str | None = None,
    ) -> None:
        queue_milestone(
            session,
            self.app.settings,
            self.app.renderer,
            scan_id=scan.id,
            alert_id=scan.alert_id,
            subject=job.subject,
            plan_entry=scan.plan_entry,
            milestone=milestone,
            key_suffix=key_suffix,
            backend_scan_id=scan.backend_scan_id,
            priority=scan.priority,
            percent_done=scan.progress_percent,
            pixels_done=scan.pixels_done,
            pixels_total=scan.pixels_total,
            predicted_end=scan.predicted_end,
            detail=detail,
        )

    # -- loop ------------------------------------------------------------------------------------------
    def tick(self) -> int:
        """Work every due scan once; returns how many were worked."""
        now = utcnow()
        with self.app.sessions() as session, session.begin():
            jobs = self._claim(session, now)
        for job in jobs:
            decision = self._work(job, utcnow())
            with self.app.sessions() as session, session.begin():
                self._record(session, job, decision, utcnow())
        return len(jobs)
