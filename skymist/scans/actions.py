"""What an operator does to scans (CLI): scan an alert on demand, rescan, abort."""

from __future__ import annotations

import datetime as dt
import getpass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner_client import ScannerError, SkyDriverClient, new_request_key
from skymist.app import App
from skymist.scans.planning import plan_entries, plan_scans
from skymist.scans.plans import ScanPlanEntry
from skymist.states import ScanState, check_transition
from skymist.store.models import Alert, AlertRevision
from skymist.store.scan_models import Scan
from skymist.store.types import utcnow

OPERATOR_LEASE = "operator"


class ScanActionError(ValueError):
    """An operator action that cannot be done (the message says why)."""


def operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def scan_alert(app: App, alert: Alert, entry_names: list[str] | None, requested_by: str) -> list[int]:
    """Plan scans of ``alert``'s newest revision now (also for an unclassified event)."""
    with app.sessions() as session, session.begin():
        revision = session.execute(
            select(AlertRevision.revision)
            .where(AlertRevision.alert_id == alert.id)
            .order_by(AlertRevision.revision.desc())
            .limit(1)
        ).scalar()
        if revision is None:
            raise ScanActionError(f"alert {alert.name or alert.id} has no revision to scan")
        entries: list[ScanPlanEntry] = plan_entries(app.settings, alert.stream, entry_names)
        before = set(session.execute(select(Scan.id).where(Scan.alert_id == alert.id)).scalars())
        added = plan_scans(
            session,
            entries,
            alert_id=alert.id,
            revision=revision,
            now=utcnow(),
            requested_by=f"cli:{requested_by}",
        )
        if not added:
            names = ", ".join(entry.name for entry in entries)
            raise ScanActionError(
                f"revision {revision} of {alert.name or alert.id} already has scans for {names}: "
                "use `skymist scans rescan SCAN` to run one again"
            )
        after = set(session.execute(select(Scan.id).where(Scan.alert_id == alert.id)).scalars())
    return sorted(after - before)


def _locked(session: Session, scan_id: int) -> Scan:
    scan = session.get(Scan, scan_id, with_for_update=True)
    if scan is None:
        raise ScanActionError(f"no scan with id {scan_id}")
    return scan


def rescan(app: App, client: SkyDriverClient, scan_id: int) -> Scan:
    """Run a scan again: a backend rescan replacing the running one, or a fresh submission of an
    ended one (failed, aborted or final)."""
    now = utcnow()
    with app.sessions() as session, session.begin():
        scan = _locked(session, scan_id)
        if scan.state in (ScanState.SUBMITTED, ScanState.RUNNING, ScanState.PARTIAL) and scan.backend_scan_id:
            try:
                manifest = client.rescan(scan.backend_scan_id, abort_first=True, replace_scan=True)
            except ScannerError as exc:
                raise ScanActionError(f"the scanner backend refused the rescan: {exc}") from None
            scan.state = check_transition(scan.state, ScanState.SUBMITTED)
            scan.backend_scan_id = manifest.scan_id
            scan.rescans += 1
        elif scan.state in (ScanState.FAILED, ScanState.ABORTED):
            scan.state = check_transition(scan.state, ScanState.PLANNED)
            scan.request_key = new_request_key()  # a new submission, not a retry of the old one
            scan.backend_scan_id = None
            scan.rescans = 0
            scan.partial_result = None
            scan.deadline_at = now + dt.timedelta(seconds=float(scan.plan.get("deadline_s", 6 * 3600)))
        else:
            raise ScanActionError(f"scan {scan_id} is {scan.state.value}: nothing to rescan")
        scan.progress_mark, scan.last_progress_at, scan.finished_at = None, now, None
        scan.attempts, scan.last_error, scan.next_check_at = 0, None, now
        scan.lease_owner, scan.lease_until = OPERATOR_LEASE, None  # a tracker mid-tick drops its result
        return scan


def abort(app: App, client: SkyDriverClient, scan_id: int, reason: str) -> Scan:
    with app.sessions() as session, session.begin():
        scan = _locked(session, scan_id)
        if scan.state not in (ScanState.PLANNED, ScanState.SUBMITTED, ScanState.RUNNING, ScanState.PARTIAL):
            raise ScanActionError(f"scan {scan_id} is {scan.state.value}: nothing to abort")
        if scan.backend_scan_id:
            try:
                client.delete_scan(scan.backend_scan_id, no_redirect=True)
            except ScannerError as exc:
                raise ScanActionError(f"the scanner backend refused to abort: {exc}") from None
        scan.state = check_transition(scan.state, ScanState.ABORTED)
        scan.last_error = f"aborted: {reason}"
        scan.finished_at = utcnow()
        scan.lease_owner, scan.lease_until = OPERATOR_LEASE, None
        return scan


def stop_alert_scans(session: Session, alert_id: int, reason: str) -> list[str]:
    """Every active scan of the alert becomes ``aborted`` (in the caller's transaction); returns the
    backend scan ids to delete once it commits (:func:`delete_backend_scans`)."""
    scans = session.execute(
        select(Scan)
        .where(
            Scan.alert_id == alert_id,
            Scan.state.in_([ScanState.PLANNED, ScanState.SUBMITTED, ScanState.RUNNING, ScanState.PARTIAL]),
        )
        .with_for_update()
    ).scalars()
    backend_ids = []
    now = utcnow()
    for scan in scans:
        scan.state = check_transition(scan.state, ScanState.ABORTED)
        scan.last_error, scan.finished_at = f"aborted: {reason}", now
        scan.lease_owner, scan.lease_until = OPERATOR_LEASE, None
        if scan.backend_scan_id:
            backend_ids.append(scan.backend_scan_id)
    return backend_ids


def delete_backend_scans(app: App, backend_ids: list[str]) -> list[str]:
    """Best effort: delete the scans on the backend; returns the ids that could not be deleted."""
    if not backend_ids or not app.settings.scans_enabled:
        return backend_ids
    from skymist.scans.backend import make_scanner_client

    failed = []
    with make_scanner_client(app.settings) as client:
        for backend_id in backend_ids:
            try:
                client.delete_scan(backend_id, no_redirect=True)
            except ScannerError:
                failed.append(backend_id)
    return failed
