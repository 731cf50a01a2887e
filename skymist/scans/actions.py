"""What an operator does to scans (CLI): scan an alert on demand, rescan, abort."""

from __future__ import annotations

import datetime as dt
import getpass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner_client import ScannerError, new_request_key
from scanner_client.backend import ScannerBackend
from skymist.app import App
from skymist.reco_plans import ScanPlanEntry
from skymist.scans.planning import plan_entries, plan_scans
from skymist.states import AlertState, OutboxState, ScanState, check_transition
from skymist.store.models import Alert, AlertRevision, OutboxRow
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


class ConfirmationNeededError(ScanActionError):
    """The action would publish something new: the message says what; repeat it with ``--yes``."""


def refuse_retracted(alert: Alert) -> None:
    """A retraction blocks new scans: nothing about a retracted alert is published again."""
    if alert.state == AlertState.RETRACTED:
        raise ScanActionError(
            f"alert {alert.name or alert.id} is retracted: no new scans (a retraction is final)"
        )


def public_consequence(session: Session, alert: Alert, app: App) -> str | None:
    """What a new final scan of ``alert`` would publish, when it already has a public refined
    revision (a new Rev 1-style notice and VOEvent and a Circular draft); None when it has none."""
    refined = session.execute(
        select(OutboxRow.revision)
        .where(
            OutboxRow.alert_id == alert.id,
            OutboxRow.product == "notice_json",
            OutboxRow.state.in_((OutboxState.SENT, OutboxState.PENDING, OutboxState.SENDING)),
            OutboxRow.revision >= 1,
        )
        .order_by(OutboxRow.revision.desc())
        .limit(1)
    ).scalar_one_or_none()
    if refined is None and alert.state not in (AlertState.LOCALIZED, AlertState.LOCALIZED_PENDING):
        return None
    shown = "a refined revision" if refined is None else f"refined revision {refined}"
    return (
        f"{alert.name or alert.id} already has {shown} public; the new scan's result would publish a new "
        f"revision: a GCN notice to {app.settings.notice_topic}, a VOEvent to {app.settings.voevent_topic}, "
        "a Slack message, and a new Circular draft"
    )


def check_scan_allowed(app: App, alert_id: int, confirmed: bool) -> str | None:
    """Refuse a scan of a retracted alert; ask for confirmation when it would publish a new public
    revision (raises :class:`ConfirmationNeededError` unless ``confirmed``). Returns what will be sent."""
    with app.sessions() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise ScanActionError(f"no alert with id {alert_id}")
        refuse_retracted(alert)
        consequence = public_consequence(session, alert, app)
    if consequence is not None and not confirmed:
        raise ConfirmationNeededError(f"{consequence}. Give --yes to go ahead.")
    return consequence


def scan_alert(app: App, alert: Alert, entry_names: list[str] | None, requested_by: str) -> list[int]:
    """Plan scans of ``alert``'s newest revision now (also for an unclassified event); never of a
    retracted alert."""
    with app.sessions() as session, session.begin():
        current = session.get(Alert, alert.id, with_for_update=True)
        assert current is not None
        refuse_retracted(current)
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


def rescan(
    app: App, client: ScannerBackend, scan_id: int, *, by: str | None = None, reason: str | None = None
) -> Scan:
    """Run a scan again: a backend rescan replacing the running one, or a fresh submission of an
    ended one (failed, aborted or final). Audited (``scan_rescanned``) when ``by`` is given."""
    now = utcnow()
    with app.sessions() as session, session.begin():
        scan = _locked(session, scan_id)
        alert = session.get(Alert, scan.alert_id)
        assert alert is not None
        refuse_retracted(alert)
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
        if by is not None:
            from skymist import audit

            audit.record(
                session,
                actor=by,
                action="scan_rescanned",
                subject_kind="scan",
                subject_id=scan.id,
                alert_id=scan.alert_id,
                reason=reason,
                details={"backend_scan_id": scan.backend_scan_id, "state": scan.state.value},
            )
        return scan


def abort(app: App, client: ScannerBackend, scan_id: int, reason: str) -> Scan:
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
