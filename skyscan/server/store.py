"""The scan store: every read and change of scans, requests and events, one transaction each.

The routes and the in-process scanner use the same methods: a progress report from the engine
goes through :meth:`ScanStore.patch_manifest` exactly as a ``PATCH /scan/{id}/manifest`` does.
Lifecycle changes go through :func:`skyscan.server.lifecycle.transition` (a transition not in
the table raises). Rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, cast

from pydantic import ValidationError
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, defer, sessionmaker

from scanner_client.models import MANIFEST_KEYS, NOT_YET_REQUESTED, EventMetadata, Progress
from scanner_client.skyscan_result import encode_nan
from skybase.json_types import JSONObject, JSONValue
from skybase.scan_requests import REAL_EVENT_CHOICES
from skyscan.server import views
from skyscan.server.arguments import printable
from skyscan.server.bodies import LaunchRequest
from skyscan.server.documents import (
    BacklogEntry,
    EventMetadataDoc,
    I3EventDoc,
    Manifest,
    Result,
    ScanRequestDoc,
    ScanWithResult,
    Status,
    StoredRequest,
    Taskforces,
    WorkflowInfo,
    Workforce,
)
from skyscan.server.errors import ApiError, not_found
from skyscan.server.find import check as check_filter
from skyscan.server.find import matches
from skyscan.server.lifecycle import ACTIVE, TRANSITIONS, Lifecycle, transition
from skyscan.server.tables import SCHEMA_VERSION, Base, I3EventRow, ScanRequestRow, ScanRow, SchemaRow

LOG = logging.getLogger(__name__)

#: manifest fields /scans/find never returns (they could be huge in SkyDriver)
FIND_EXCLUDED: Final = frozenset({"ewms_task", "event_i3live_json_dict", "event_i3live_json_dict__hash"})
EVENT_METADATA_KEYS: Final = ("run_id", "event_id", "event_type", "mjd", "is_real_event")
_DEACTIVATION: Final = {
    Lifecycle.ABORTED: "ABORTED",
    Lifecycle.FAILED: "FINISHED",
    Lifecycle.FINISHED: "FINISHED",
}


#: the ids this store gives events (uuid4 hex); any other id names no event here
I3_EVENT_ID: Final = re.compile(r"[0-9a-f]{32}")


def new_scan_id(now: float) -> str:
    """SkyDriver's format: 11 hex digits of the epoch in ms, ``x``, 20 random hex digits."""
    return f"{int(now * 1000):011x}x{uuid.uuid4().hex[:20]}"


def dumps(value: JSONValue) -> str:
    return json.dumps(value)


@dataclass(frozen=True)
class RunInputs:
    """What a scanner needs to run a scan."""

    scan_id: str
    request: StoredRequest
    event: JSONObject


class ScanStore:
    """All scan data of one service, in one SQL database."""

    def __init__(self, database_url: str, *, clock: Callable[[], float] = time.time) -> None:
        url = make_url(database_url)
        connect_args: dict[str, bool | int] = {}
        if url.get_backend_name() == "sqlite":
            connect_args = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._clock = clock
        self.safe_url = url.render_as_string(hide_password=True)

    def create_tables(self) -> None:
        """Create missing tables; refuse a database written by another schema version."""
        Base.metadata.create_all(self.engine)
        with self._session() as session:
            versions = session.scalars(select(SchemaRow.version)).all()
            if not versions:
                session.add(SchemaRow(version=SCHEMA_VERSION))
            elif versions != [SCHEMA_VERSION]:
                raise RuntimeError(
                    f"database {self.safe_url} holds skyscan schema version(s) {versions}; "
                    f"this skyscan needs version {SCHEMA_VERSION}"
                )

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _row(self, session: Session, scan_id: str, *, lock: bool = False) -> ScanRow:
        query = select(ScanRow).where(ScanRow.scan_id == scan_id)
        if lock:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise not_found(scan_id)
        return row

    def _visible(self, session: Session, scan_id: str, include_deleted: bool) -> ScanRow:
        row = self._row(session, scan_id)
        if row.is_deleted and not include_deleted:
            raise ApiError(
                404, f"scan '{scan_id}' is deleted (pass include_deleted=true to see it)", reason="Not Found"
            )
        return row

    def _event(self, session: Session, i3_event_id: str) -> JSONObject:
        event = session.get(I3EventRow, i3_event_id)
        if event is None:
            raise ApiError(404, f"No i3 event document found with id '{i3_event_id}'")
        loaded: JSONObject = json.loads(event.event_json)
        return loaded

    # ------------------------------------------------------------------ reads

    def replaced_by(self, scan_id: str) -> str | None:
        with self._session() as session:
            return session.scalar(select(ScanRow.replaced_by_scan_id).where(ScanRow.scan_id == scan_id))

    def get_manifest(self, scan_id: str, *, include_deleted: bool, with_event: bool = False) -> Manifest:
        with self._session() as session:
            row = self._visible(session, scan_id, include_deleted)
            return views.manifest(row, event=self._event(session, row.i3_event_id) if with_event else None)

    def get_scan(self, scan_id: str, *, include_deleted: bool) -> ScanWithResult:
        with self._session() as session:
            row = self._visible(session, scan_id, include_deleted)
            return {"manifest": views.manifest(row), "result": views.result(row)}

    def get_result(self, scan_id: str, *, include_deleted: bool) -> Result:
        with self._session() as session:
            return views.result(self._visible(session, scan_id, include_deleted))

    def get_status(self, scan_id: str, *, workers: int, logs_url_template: str) -> Status:
        with self._session() as session:
            return views.status(
                self._row(session, scan_id), workers=workers, logs_url_template=logs_url_template
            )

    def get_i3_event(self, scan_id: str) -> I3EventDoc:
        with self._session() as session:
            return {"i3_event": self._event(session, self._row(session, scan_id).i3_event_id)}

    def get_scan_request(self, scan_id: str) -> ScanRequestDoc:
        """The stored request; the id of a rescan gives its origin's request."""
        with self._session() as session:
            request_id = session.scalar(select(ScanRow.request_id).where(ScanRow.scan_id == scan_id))
            if request_id is None:
                raise ApiError(
                    404, f"Scan request not found for scan '{scan_id}'", reason="Scan request not found"
                )
            request = session.get(ScanRequestRow, request_id)
            assert request is not None
            rescans = session.scalars(
                select(ScanRow.scan_id)
                .where(ScanRow.request_id == request_id, ScanRow.scan_id != request_id)
                .order_by(ScanRow.timestamp)
            ).all()
            stored: StoredRequest = json.loads(request.body_json)
            return {"scan_id": request_id, "rescan_ids": list(rescans), **stored}

    def get_run_inputs(self, scan_id: str) -> RunInputs:
        with self._session() as session:
            row = self._row(session, scan_id)
            request = session.get(ScanRequestRow, row.request_id)
            assert request is not None
            stored: StoredRequest = json.loads(request.body_json)
            return RunInputs(scan_id, stored, self._event(session, row.i3_event_id))

    def find(
        self, query: Mapping[str, JSONValue], *, include_deleted: bool, projection: list[str] | None
    ) -> list[JSONObject]:
        """``POST /scans/find``: manifests matching a MongoDB-style filter, oldest first."""
        fields = project_fields(projection, excluded=FIND_EXCLUDED)
        try:
            check_filter(query)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if not include_deleted and "is_deleted" not in query:
            query = {**query, "is_deleted": False}
        found = []
        with self._session() as session:
            rows = session.scalars(
                select(ScanRow).options(defer(ScanRow.result_json)).order_by(ScanRow.timestamp)
            )
            for row in rows:
                manifest: Mapping[str, JSONValue] = views.manifest(row)
                try:
                    hit = matches(manifest, query)
                except ValueError as exc:
                    raise ApiError(400, str(exc)) from None
                if hit:
                    found.append({key: manifest[key] for key in fields})
        return found

    # ------------------------------------------------------------------ user changes

    def create_scan(self, body: LaunchRequest) -> Manifest:
        """``POST /scan``: store the request (and event) and queue the scan."""
        now = self._clock()
        scan_id = new_scan_id(now)
        with self._session() as session:
            if body.i3_event_id is not None:
                known_form = I3_EVENT_ID.fullmatch(body.i3_event_id) is not None
                if not known_form or session.get(I3EventRow, body.i3_event_id) is None:
                    raise ApiError(400, "i3 event not found")
                i3_event_id = body.i3_event_id
            else:
                i3_event_id = uuid.uuid4().hex
                session.add(I3EventRow(i3_event_id=i3_event_id, event_json=dumps(body.event)))
            request: StoredRequest = {**body.request_fields(), "i3_event_id": i3_event_id}
            session.add(ScanRequestRow(request_id=scan_id, body_json=dumps(request)))
            session.flush()
            row = self._new_scan(session, scan_id, scan_id, request, body.classifiers, now)
            LOG.info(
                "scan queued",
                extra={"scan_id": scan_id, "priority": body.priority, "reco_algo": body.reco_algo},
            )
            return views.manifest(row)

    def _new_scan(
        self,
        session: Session,
        scan_id: str,
        request_id: str,
        request: StoredRequest,
        classifiers: Mapping[str, JSONValue],
        now: float,
    ) -> ScanRow:
        # without run_scans, nsides and reco_algo are the client's, unchecked: shown escaped
        nsides = printable(" ".join(f"{nside}:{ext}" for nside, ext in request["nsides"].items()))
        kind = (
            "--real-event"
            if request["real_or_simulated_event"] in REAL_EVENT_CHOICES
            else "--simulated-event"
        )
        row = ScanRow(
            scan_id=scan_id,
            request_id=request_id,
            timestamp=now,
            # written just after the timestamp, as SkyDriver's first update does (always later)
            last_updated=max(self._clock(), math.nextafter(now, math.inf)),
            is_deleted=False,
            scanner_server_args=(
                f"skyscan-engine --reco-algo {printable(request['reco_algo'])} --nsides {nsides} {kind} "
                f"--predictive-scanning-threshold {request['predictive_scanning_threshold']}"
            ),
            ewms_workflow_id=NOT_YET_REQUESTED,
            ewms_address=None,
            priority=request["priority"],
            classifiers_json=dumps(dict(classifiers)),
            i3_event_id=request["i3_event_id"],
            lifecycle=Lifecycle.QUEUED.value,
            restarts=0,
            result_is_final=False,
        )
        session.add(row)
        session.flush()
        return row

    def delete_scan(self, scan_id: str, *, delete_completed_scan: bool) -> ScanWithResult:
        """``DELETE /scan/{id}``: mark deleted and abort it if it is queued or running."""
        with self._session() as session:
            row = self._row(session, scan_id, lock=True)
            if row.result_is_final and not delete_completed_scan:
                raise ApiError(
                    400, "Attempted to delete a completed scan (must use `delete_completed_scan=True`)"
                )
            self._abort(row)
            return {"manifest": views.manifest(row), "result": views.result(row)}

    def _abort(self, row: ScanRow) -> None:
        row.is_deleted = True
        row.last_updated = self._clock()
        current = Lifecycle(row.lifecycle)
        if current in (Lifecycle.QUEUED, Lifecycle.LAUNCHED):  # no workflow yet: nothing to deactivate
            row.lifecycle = transition(row.scan_id, current, Lifecycle.ABORTED)
        elif current in ACTIVE:
            row.lifecycle = transition(row.scan_id, current, Lifecycle.ABORTED)
            row.ewms_deactivated = _DEACTIVATION[Lifecycle.ABORTED]
        LOG.info("scan deleted", extra={"scan_id": row.scan_id, "lifecycle": row.lifecycle})

    def rescan(self, scan_id: str, *, abort_first: bool, replace_scan: bool) -> Manifest:
        """``POST /scan/{id}/actions/rescan``: a new scan from the same stored request."""
        now = self._clock()
        with self._session() as session:
            origin = self._row(session, scan_id, lock=True)
            request_row = session.get(ScanRequestRow, origin.request_id)
            assert request_row is not None
            request: StoredRequest = json.loads(request_row.body_json)
            if abort_first:
                self._abort(origin)
            classifiers = {**request["classifiers"], "rescan": True, "origin_scan_id": scan_id}
            new_id = new_scan_id(now)
            row = self._new_scan(session, new_id, origin.request_id, request, classifiers, now)
            if replace_scan:
                origin.replaced_by_scan_id = new_id
                origin.last_updated = now
            LOG.info(
                "rescan queued",
                extra={
                    "scan_id": new_id,
                    "origin_scan_id": scan_id,
                    "replace": replace_scan,
                    "abort": abort_first,
                },
            )
            return views.manifest(row)

    # ------------------------------------------------------------------ system changes (scanners)

    def patch_manifest(
        self,
        scan_id: str,
        *,
        progress: Mapping[str, JSONValue] | None,
        event_metadata: Mapping[str, JSONValue] | None,
        scan_metadata: Mapping[str, JSONValue] | None,
        only_if_active: bool = False,
    ) -> Manifest:
        """``PATCH /scan/{id}/manifest``: progress (replaced each time), event and scan metadata
        (set once; a different value later is a 400). ``only_if_active``: the in-process
        scanner's report, dropped once the scan was aborted (deleted while the report was on its
        way); its last report after the final result still lands."""
        with self._session() as session:
            row = self._row(session, scan_id, lock=True)
            if only_if_active and Lifecycle(row.lifecycle) in (Lifecycle.ABORTED, Lifecycle.FAILED):
                return views.manifest(row)
            if not (progress or event_metadata or scan_metadata):
                return views.manifest(row)
            if event_metadata:
                meta = dumps(_event_metadata(event_metadata))
                if row.event_metadata_json is None:
                    row.event_metadata_json = meta
                elif json.loads(row.event_metadata_json) != json.loads(meta):
                    raise ApiError(400, "Cannot change an existing event_metadata")
            if scan_metadata:
                if row.scan_metadata_json is None:
                    row.scan_metadata_json = dumps(dict(scan_metadata))
                elif json.loads(row.scan_metadata_json) != dict(scan_metadata):
                    raise ApiError(400, "Cannot change an existing scan_metadata")
            if progress:
                row.progress_json = dumps(_progress(progress))
                if Lifecycle(row.lifecycle) is Lifecycle.STARTING:
                    row.lifecycle = transition(scan_id, Lifecycle.STARTING, Lifecycle.RUNNING)
            row.last_updated = self._clock()
            return views.manifest(row)

    def put_result(self, scan_id: str, skyscan_result: Mapping[str, JSONValue], *, is_final: bool) -> Result:
        """``PUT /scan/{id}/result``: replace the whole result with the dict given (stored as
        given, as SkyDriver does); a final one finishes the scan. An empty one stores nothing."""
        if not skyscan_result:
            return {}
        with self._session() as session:
            row = self._row(session, scan_id, lock=True)
            if row.result_is_final and not is_final:
                raise ApiError(400, f"scan '{scan_id}' has a final result; a partial one cannot replace it")
            current = Lifecycle(row.lifecycle)
            row.result_json = dumps(encode_nan(skyscan_result))
            row.result_is_final = row.result_is_final or is_final
            if is_final:
                if Lifecycle.FINISHED in TRANSITIONS[current]:
                    row.lifecycle = transition(scan_id, current, Lifecycle.FINISHED)
                    row.owner = None
                if current is not Lifecycle.QUEUED and current is not Lifecycle.LAUNCHED:
                    row.ewms_deactivated = row.ewms_deactivated or _DEACTIVATION[Lifecycle.FINISHED]
                LOG.info("final result stored", extra={"scan_id": scan_id})
            # the manifest is unchanged (its last_updated too): a result is not a manifest update
            return views.result(row)

    def set_workflow_id(self, scan_id: str, workflow_id: str, ewms_address: str) -> Manifest:
        """``POST /scan/{id}/ewms/workflow-id``: an external scanner takes a scan that has no
        workflow yet (queued, or handed out by the backlog) and is not deleted."""
        with self._session() as session:
            row = session.scalars(
                select(ScanRow).where(ScanRow.scan_id == scan_id).with_for_update()
            ).one_or_none()
            if row is None or row.is_deleted or row.ewms_workflow_id != NOT_YET_REQUESTED:
                raise ApiError(
                    404,
                    "Could not find a scan manifest to update (either the scan_id does not exist "
                    "or its EWMS workflow_id cannot be updated)",
                    reason="Not Found",
                )
            if Lifecycle.STARTING in TRANSITIONS[Lifecycle(row.lifecycle)]:
                self._assign_workflow(row, workflow_id, ewms_address, owner=None)
            else:  # already ended (a final result came first): only record the ids
                row.ewms_workflow_id, row.ewms_address = workflow_id, ewms_address
                row.last_updated = self._clock()
            return views.manifest(row)

    def workflow_info(self, scan_id: str) -> WorkflowInfo:
        """``GET /scan/{id}/ewms/workflow-id``."""
        with self._session() as session:
            row = self._row(session, scan_id)
            return {
                "workflow_id": row.ewms_workflow_id,
                "requested_ewms_workflow": row.ewms_workflow_id not in (None, NOT_YET_REQUESTED),
                "eligible_for_ewms": row.ewms_workflow_id is not None,
                "ewms_address": row.ewms_address,
            }

    def workforce(self, scan_id: str, *, workers: int) -> Workforce:
        """``GET /scan/{id}/ewms/workforce``: the pixel workers of the scan, if it runs here."""
        with self._session() as session:
            return views.workforce(self._row(session, scan_id), workers)

    def taskforces(self, scan_id: str, *, workers: int, pool_kind: str) -> Taskforces:
        """``GET /scan/{id}/ewms/taskforces``: the worker pool of a scan run here, as one entry."""
        with self._session() as session:
            row = self._row(session, scan_id)
            if row.ewms_workflow_id in (None, NOT_YET_REQUESTED):
                return {"taskforces": []}
            if row.owner is None:  # taken by an external scanner: skyscan knows only its workflow
                return {
                    "taskforces": [
                        {
                            "taskforce_uuid": f"{row.ewms_workflow_id}-external",
                            "workflow_id": row.ewms_workflow_id,
                            "ewms_address": row.ewms_address,
                            "cluster_location": None,
                            "n_workers": None,
                            "phase": "run by an external scanner",
                        }
                    ]
                }
            running = Lifecycle(row.lifecycle) in ACTIVE
            return {
                "taskforces": [
                    {
                        "taskforce_uuid": f"{row.ewms_workflow_id}-pool",
                        "workflow_id": row.ewms_workflow_id,
                        "cluster_location": pool_kind,
                        "n_workers": workers,
                        "phase": "running" if running else "done",
                        "owner": row.owner,
                    }
                ]
            }

    def logs_url(self, scan_id: str, template: str) -> str | None:
        with self._session() as session:
            self._row(session, scan_id)
        return template.format(scan_id=scan_id) if template else None

    def check_add_workers(self, scan_id: str) -> ScanRow:
        """The checks of ``POST /scan/{id}/actions/add-workers``, in SkyDriver's order (422s)."""
        with self._session() as session:
            row = self._row(session, scan_id)
            if row.is_deleted:
                raise ApiError(422, "this scan has been deleted--cannot add workers")
            if row.ewms_workflow_id in (None, NOT_YET_REQUESTED):
                raise ApiError(422, "an EWMS workflow has not been assigned--cannot add workers")
            if row.result_is_final:
                raise ApiError(422, "this scan has a final result--cannot add workers")
            return row

    def backlog(self) -> list[BacklogEntry]:
        """``GET /scans/backlog``: the scans waiting to be started, oldest first."""
        with self._session() as session:
            rows = session.scalars(
                select(ScanRow)
                .options(defer(ScanRow.result_json))
                .where(ScanRow.lifecycle == Lifecycle.QUEUED.value, ScanRow.is_deleted.is_(False))
                .order_by(ScanRow.timestamp)
            )
            return [
                {
                    "scan_id": row.scan_id,
                    "timestamp": row.timestamp,
                    "priority": row.priority,
                    "pending_timestamp": 0.0,
                    "next_attempt": row.restarts,
                }
                for row in rows
            ]

    def hand_out_queued(self) -> list[str]:
        """Without a scanner of our own (``run_scans`` false): take every queued scan out of the
        backlog for external scanners, which claim one with ``POST /scan/{id}/ewms/workflow-id``."""
        with self._session() as session:
            rows = session.scalars(
                select(ScanRow)
                .where(ScanRow.lifecycle == Lifecycle.QUEUED.value, ScanRow.is_deleted.is_(False))
                .order_by(ScanRow.priority.desc(), ScanRow.timestamp)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.lifecycle = transition(row.scan_id, Lifecycle.QUEUED, Lifecycle.LAUNCHED)
                LOG.info("scan handed out to external scanners", extra={"scan_id": row.scan_id})
            return [row.scan_id for row in rows]

    def _assign_workflow(self, row: ScanRow, workflow_id: str, address: str, *, owner: str | None) -> None:
        row.lifecycle = transition(row.scan_id, Lifecycle(row.lifecycle), Lifecycle.STARTING)
        row.ewms_workflow_id = workflow_id
        row.ewms_address = address
        row.owner = owner
        row.heartbeat_at = self._clock() if owner else None
        row.last_updated = self._clock()

    # ------------------------------------------------------------------ the backlog and runs

    def claim_next(self, owner: str, address: str) -> str | None:
        """Take the next queued scan (highest priority, then oldest) for ``owner``, or None."""
        with self._session() as session:
            row = session.scalars(
                select(ScanRow)
                .where(ScanRow.lifecycle == Lifecycle.QUEUED.value, ScanRow.is_deleted.is_(False))
                .order_by(ScanRow.priority.desc(), ScanRow.timestamp)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None:
                return None
            self._assign_workflow(row, f"skyscan-{uuid.uuid4().hex[:16]}", address, owner=owner)
            LOG.info("scan launched", extra={"scan_id": row.scan_id, "workflow_id": row.ewms_workflow_id})
            return row.scan_id

    def heartbeat(self, owner: str, scan_ids: set[str]) -> set[str]:
        """Refresh ``owner``'s running scans; returns those it must stop (deleted, taken away)."""
        now = self._clock()
        keep: set[str] = set()
        with self._session() as session:
            rows = session.scalars(select(ScanRow).where(ScanRow.scan_id.in_(scan_ids)).with_for_update())
            for row in rows:
                if row.owner == owner and Lifecycle(row.lifecycle) in ACTIVE:
                    row.heartbeat_at = now
                    keep.add(row.scan_id)
        return scan_ids - keep

    def requeue_orphans(self, *, stale_after_s: float, max_restarts: int) -> list[str]:
        """Scans whose runner stopped heart-beating (its service died): queue them again to run
        from the start, or fail them after ``max_restarts``."""
        cutoff = self._clock() - stale_after_s
        touched = []
        with self._session() as session:
            rows = session.scalars(
                select(ScanRow)
                .where(
                    ScanRow.lifecycle.in_([state.value for state in ACTIVE]),
                    ScanRow.owner.is_not(None),
                    ScanRow.heartbeat_at < cutoff,
                )
                .with_for_update(skip_locked=True)
            )
            for row in rows:
                row.restarts += 1
                if row.restarts > max_restarts:
                    self._end(row, Lifecycle.FAILED, f"orphaned {row.restarts} times (service restarts)")
                else:
                    self._requeue(row, "its service stopped without releasing it")
                touched.append(row.scan_id)
        return touched

    def release(self, scan_id: str, owner: str, reason: str) -> None:
        """Put a scan this owner runs back in the backlog (graceful shutdown)."""
        with self._session() as session:
            row = self._row(session, scan_id, lock=True)
            if row.owner == owner and Lifecycle(row.lifecycle) in ACTIVE:
                self._requeue(row, reason)

    def _requeue(self, row: ScanRow, reason: str) -> None:
        row.lifecycle = transition(row.scan_id, Lifecycle(row.lifecycle), Lifecycle.QUEUED)
        row.ewms_workflow_id = NOT_YET_REQUESTED
        row.ewms_address = None
        row.owner = None
        row.heartbeat_at = None
        row.progress_json = None
        if not row.result_is_final:
            row.result_json = None
        row.last_updated = self._clock()
        LOG.warning(
            "scan requeued", extra={"scan_id": row.scan_id, "reason": reason, "restarts": row.restarts}
        )

    def end_run(self, scan_id: str, outcome: Lifecycle, reason: str | None = None) -> None:
        """Record how a run ended (ABORTED or FAILED; FINISHED comes with the final result)."""
        with self._session() as session:
            self._end(self._row(session, scan_id, lock=True), outcome, reason)

    def _end(self, row: ScanRow, outcome: Lifecycle, reason: str | None) -> None:
        current = Lifecycle(row.lifecycle)
        row.owner = None
        row.heartbeat_at = None
        if current not in ACTIVE:  # already ended (deleted, or finished by its final result)
            return
        row.lifecycle = transition(row.scan_id, current, outcome)
        row.ewms_deactivated = _DEACTIVATION[outcome]
        row.failure_reason = reason
        row.last_updated = self._clock()
        log = LOG.error if outcome is Lifecycle.FAILED else LOG.info
        log("scan ended", extra={"scan_id": row.scan_id, "outcome": outcome.value, "reason": reason})

    def lifecycle_of(self, scan_id: str) -> Lifecycle:
        with self._session() as session:
            return Lifecycle(self._row(session, scan_id).lifecycle)


def project_fields(projection: list[str] | None, *, excluded: frozenset[str] = frozenset()) -> list[str]:
    """Manifest keys to return, in manifest order (``"*"`` or no projection: all of them)."""
    if projection is None or "*" in projection or not projection:
        return [key for key in MANIFEST_KEYS if key not in excluded]
    unknown = sorted(set(projection) - set(MANIFEST_KEYS))
    if unknown:
        raise ApiError(400, f"argument manifest_projection: unknown manifest field(s) {unknown}")
    refused = sorted(set(projection) & excluded)
    if refused:
        raise ApiError(400, f"'manifest_projection' cannot include any of the following: {refused}")
    return [key for key in MANIFEST_KEYS if key in projection]


def project(manifest: Mapping[str, JSONValue], projection: list[str] | None) -> JSONObject:
    return {key: manifest[key] for key in project_fields(projection)}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def _event_metadata(value: Mapping[str, JSONValue]) -> EventMetadataDoc:
    try:
        meta = EventMetadata.model_validate(value)
    except ValidationError as exc:
        raise ApiError(400, f"'event_metadata': {_first_error(exc)}") from None
    return cast(EventMetadataDoc, {key: getattr(meta, key) for key in EVENT_METADATA_KEYS})


def _progress(value: Mapping[str, JSONValue]) -> JSONObject:
    try:
        progress = Progress.model_validate(value)
    except ValidationError as exc:
        raise ApiError(400, f"'progress': {_first_error(exc)}") from None
    dumped: JSONObject = progress.model_dump(mode="json")
    return dumped
