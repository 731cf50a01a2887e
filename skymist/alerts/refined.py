"""Revision 1 of an alert from its final scan: :func:`localize_alert`, the hook the hand-off calls.

The skymap step itself (read the result, analyse it, write the files, the localization row) is
:mod:`skymist.skymap.alert_maps`; this module publishes what it made.

1. Parse the skyreader result (the verbatim ``skyscan_result`` or the whole ``GET /scan/{id}/result``
   body), check it is about this alert, and analyse it with the threshold set the reco declares
   (else ``skymap_thresholds``), outside any transaction: the slow part.
2. Write the flat FITS, multi-order FITS and PNG (with the Rev 0 position) into a staging folder.
3. One transaction, under the alert's row lock: re-check (idempotent per scan ref; a retracted alert
   is left alone), rename the files into ``data_dir/skymaps/<folder>/``, store the localization,
   add the refined revision, queue its notice, VOEvent and Slack message (notices held if
   ``rev1_requires_approval``), draft the Circular (superseding an unapproved earlier draft), and
   move the alert ``localized_pending -> localized``. Unclassified events get the localization and
   the Slack message only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skybase.sky import angular_distance_deg
from skymist.alerts.context import STREAM_INFO, Publication, RevisionNumbers, build_context, identity_of
from skymist.alerts.reco import RecoIdentity, identify
from skymist.alerts.refined_products import RefinedSlackVars, revision_rows, slack_row
from skymist.alerts.rows import insert_revision
from skymist.app import App
from skymist.circulars.catalogue import CatalogueMatch, crossmatch, gamma_catalogue
from skymist.circulars.context import TRACK_PURITY, track_vars
from skymist.circulars.drafts import queue_awaiting_message, render_circular, store_draft, supersede_awaiting
from skymist.config import Settings
from skymist.files import path_inside
from skymist.outbox.held import cancel_held
from skymist.outbox.queue import enqueue_many
from skymist.skymap.alert_files import SkymapFiles, StagedSkymap, folder_name, staged_skymap
from skymist.skymap.alert_maps import analyse, check_same_event, files_of, localization_row, parse_result
from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.errors import LocalizationError
from skymist.skymap.model import ScanResult, threshold_set
from skymist.skymap.picture import ComparisonPosition
from skymist.skymap.position import SkyPosition
from skymist.states import AlertState, check_transition
from skymist.store.models import Alert, AlertRevision
from skymist.store.product_models import Circular, CircularKind, Localization
from skymist.store.types import utcnow

log = logging.getLogger(__name__)

Status = Literal["created", "duplicate", "skipped"]


@dataclass(frozen=True)
class LocalizationOutcome:
    """What :func:`localize_alert` did."""

    status: Status  # created; duplicate (this scan ref was done before); skipped (alert retracted)
    alert_id: int
    scan_ref: str
    localization_id: int | None
    revision: int | None  # the refined revision added (None: unclassified event, or nothing done)
    files: SkymapFiles | None
    queued_products: tuple[str, ...]  # outbox products added (notice_json, voevent, slack_refined...)
    circular_id: int | None  # the Circular draft awaiting approval
    superseded_circulars: tuple[int, ...]
    notices_held: bool
    summary: str
    #: what made the map: a reconstruction, or an approximation (held for approval, never "refined")
    reco_algo: str | None = None
    reco_kind: str | None = None


@dataclass(frozen=True)
class _AlertFacts:
    id: int
    label: str
    name: str | None
    run_id: int
    event_id: int
    stream: str
    state: AlertState
    event_time: dt.datetime
    rev0_position: tuple[float, float] | None
    #: the revision a localization would add (public alerts only): named in the picture's title
    next_revision: int | None


def _facts(session: Session, alert_id: int) -> _AlertFacts:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LocalizationError(f"alert_id = {alert_id!r}: no such alert")
    rev0 = session.execute(
        select(AlertRevision.ra_deg, AlertRevision.dec_deg).where(
            AlertRevision.alert_id == alert_id, AlertRevision.revision == 0
        )
    ).first()
    return _AlertFacts(
        id=alert.id,
        label=alert.name or f"{alert.run_id}_{alert.event_id}",
        name=alert.name,
        run_id=alert.run_id,
        event_id=alert.event_id,
        stream=alert.stream,
        state=alert.state,
        event_time=alert.event_time,
        rev0_position=(rev0.ra_deg, rev0.dec_deg) if rev0 is not None else None,
        next_revision=_latest_revision(session, alert_id) + 1 if alert.stream in STREAM_INFO else None,
    )


def _latest_revision(session: Session, alert_id: int) -> int:
    latest = session.execute(
        select(func.max(AlertRevision.revision)).where(AlertRevision.alert_id == alert_id)
    ).scalar_one()
    return -1 if latest is None else int(latest)


def _existing(session: Session, alert_id: int, scan_ref: str) -> Localization | None:
    return session.execute(
        select(Localization).where(Localization.alert_id == alert_id, Localization.scan_ref == scan_ref)
    ).scalar_one_or_none()


def _duplicate(row: Localization, scan_ref: str) -> LocalizationOutcome:
    return LocalizationOutcome(
        status="duplicate",
        alert_id=row.alert_id,
        scan_ref=scan_ref,
        localization_id=row.id,
        revision=row.revision,
        files=files_of(row),
        queued_products=(),
        circular_id=None,
        superseded_circulars=(),
        notices_held=False,
        summary=f"scan {scan_ref} was localized before (localization {row.id}); nothing done",
    )


def _skipped(facts: _AlertFacts, scan_ref: str) -> LocalizationOutcome:
    return LocalizationOutcome(
        status="skipped",
        alert_id=facts.id,
        scan_ref=scan_ref,
        localization_id=None,
        revision=None,
        files=None,
        queued_products=(),
        circular_id=None,
        superseded_circulars=(),
        notices_held=False,
        summary=f"alert {facts.label} is retracted; scan {scan_ref} not localized",
    )


def _require_pending(state: AlertState, label: str) -> None:
    if state != AlertState.LOCALIZED_PENDING:
        raise LocalizationError(
            f"alert {label}: state = {state.value!r}; a final scan is localized only in 'localized_pending'"
        )


def localize_alert(
    app: App,
    alert_id: int,
    result_bytes: bytes,
    *,
    scan_ref: str,
    plan: Mapping[str, Any] | None = None,
) -> LocalizationOutcome:
    """Turn the final scan ``scan_ref`` of alert ``alert_id`` into its localization and refined products.

    Idempotent per ``scan_ref``; see the module docstring for the steps.
    """
    with app.sessions() as session:
        done = _existing(session, alert_id, scan_ref)
        if done is not None:
            return _duplicate(done, scan_ref)
        facts = _facts(session, alert_id)
    if facts.state == AlertState.RETRACTED:
        return _skipped(facts, scan_ref)
    _require_pending(facts.state, facts.label)

    scan = parse_result(result_bytes, scan_ref)
    check_same_event(scan, facts.run_id, facts.event_id, facts.label, scan_ref)
    reco = identify(scan.metadata, plan)
    analysis = _analysis(app.settings, facts, scan, reco)
    # the shipped 4FGL-DR4 table unless gamma_catalogue_path names another
    catalogue = crossmatch(
        analysis, gamma_catalogue(app.settings.gamma_catalogue_path), app.settings.gamma_catalogue_name
    )
    folder, folder_path = _skymap_folder(app.settings, facts)
    comparison = ComparisonPosition(*facts.rev0_position, "Rev 0") if facts.rev0_position else None
    with (
        staged_skymap(analysis, folder_path, comparison) as staged,
        app.sessions() as session,
        session.begin(),
    ):
        alert = session.execute(select(Alert).where(Alert.id == alert_id).with_for_update()).scalar_one()
        done = _existing(session, alert_id, scan_ref)
        if done is not None:  # another daemon got here first
            return _duplicate(done, scan_ref)
        if alert.state == AlertState.RETRACTED:
            return _skipped(facts, scan_ref)
        _require_pending(alert.state, facts.label)
        outcome = _record(app, session, alert, facts, analysis, folder, staged, scan_ref, reco, catalogue)
        alert.state = check_transition(alert.state, AlertState.LOCALIZED)
        alert.updated_at = utcnow()
    log.info(
        "alert localized",
        extra={
            "alert": facts.label,
            "scan_ref": scan_ref,
            "revision": outcome.revision,
            "reco_algo": reco.algo,
            "reco_kind": reco.kind,
        },
    )
    return outcome


def _analysis(settings: Settings, facts: _AlertFacts, scan: ScanResult, reco: RecoIdentity) -> SkymapAnalysis:
    """The skymap analysis of the alert's final scan, made by ``reco``."""
    return analyse(
        scan,
        reco.region_method or settings.skymap_thresholds,
        run_id=facts.run_id,
        event_id=facts.event_id,
        event_time=facts.event_time,
        label=facts.label if facts.next_revision is None else f"{facts.label} Rev {facts.next_revision}",
        reco_algo=reco.algo,
        reco_kind=reco.kind,
        region_method=reco.region_method,
    )


def _skymap_folder(settings: Settings, facts: _AlertFacts) -> tuple[str, Path]:
    """The alert's skymap folder: its name and its absolute path under the data directory."""
    try:
        folder = folder_name(facts.name, facts.run_id, facts.event_id)
        return folder, path_inside(settings.data_dir / "skymaps", folder).absolute()
    except ValueError as exc:  # a name that cannot be a folder (PathOutsideRootError included)
        raise LocalizationError(f"alert {facts.label}: skymap folder refused: {exc}") from None


@dataclass
class _Published:
    queued: list[str]
    draft: Circular | None
    superseded: list[int]


def _publish_revision(
    app: App,
    session: Session,
    alert: Alert,
    facts: _AlertFacts,
    loc: Localization,
    revision: int,
    supersedes: int,
    held: bool,
    reco: RecoIdentity,
    catalogue: CatalogueMatch | None,
) -> _Published:
    """Add the refined revision, queue its notice and VOEvent, draft the Circular (public alerts)."""
    settings = app.settings
    rev0 = _rev0_numbers(session, alert, facts)
    position = SkyPosition.of(loc)
    # only thresholds calibrated to cover systematics say so, and never for an approximation's regions
    systematic = threshold_set(loc.thresholds).includes_systematics and not reco.approximation
    _insert_refined(session, alert, loc, position, revision, rev0, reco, systematic)
    reason = f"superseded by revision {revision} (scan {loc.scan_ref})"
    cancel_held(session, alert.id, reason)  # notices of an earlier revision still held are stale now
    superseded = supersede_awaiting(session, alert.id, reason)
    numbers = RevisionNumbers(
        ra_deg=position.ra_deg,
        dec_deg=position.dec_deg,
        err50_deg=position.err50_deg,
        err90_deg=position.err90_deg,
        errors_derived=False,
        energy_tev=rev0.energy_tev,
        signalness=rev0.signalness,
        far_per_year=rev0.far_per_year,
    )
    publication = _publication(settings, loc, revision, supersedes, systematic, reco)
    ctx = build_context(identity_of(alert), numbers, publication)
    queued = enqueue_many(session, revision_rows(settings, app.renderer, alert.id, ctx, held=held))
    if alert.stream not in TRACK_PURITY:  # cascades have no Circular template here
        return _Published(queued, None, superseded)
    draft = _draft_circular(
        app, session, alert, loc, revision, rev0.far_per_year, systematic, reco, catalogue
    )
    return _Published(queued, draft, superseded)


@dataclass(frozen=True)
class _Rev0Numbers:
    """What the refined revision copies from revision 0."""

    signalness: float
    far_per_year: float
    energy_tev: float


def _insert_refined(
    session: Session,
    alert: Alert,
    loc: Localization,
    position: SkyPosition,
    revision: int,
    rev0: _Rev0Numbers,
    reco: RecoIdentity,
    systematic: bool,
) -> None:
    """The refined revision's row: the localization's position with revision 0's numbers."""
    insert_revision(
        session,
        alert_id=alert.id,
        run_id=alert.run_id,
        event_id=alert.event_id,
        revision=revision,
        ra_deg=position.ra_deg,
        dec_deg=position.dec_deg,
        err50_deg=position.err50_deg,
        err90_deg=position.err90_deg,
        errors_derived=False,
        signalness=rev0.signalness,
        far_per_year=rev0.far_per_year,
        energy_tev=rev0.energy_tev,
        details={
            "localization_id": loc.id,
            "scan_ref": loc.scan_ref,
            "thresholds": loc.thresholds,
            "area_90_deg2": position.box_90.area_deg2,
            "reco_algo": reco.algo,
            "reco_kind": reco.kind,
            "systematic_included": systematic,
        },
    )


def _rev0_numbers(session: Session, alert: Alert, facts: _AlertFacts) -> _Rev0Numbers:
    rev0 = session.execute(
        select(AlertRevision).where(AlertRevision.alert_id == alert.id, AlertRevision.revision == 0)
    ).scalar_one_or_none()
    if rev0 is None or rev0.signalness is None or rev0.far_per_year is None or rev0.energy_tev is None:
        raise LocalizationError(
            f"alert {facts.label}: revision 0 lacks signalness, far_per_year or energy_tev "
            "(the refined revision copies them)"
        )
    return _Rev0Numbers(rev0.signalness, rev0.far_per_year, rev0.energy_tev)


def _publication(
    settings: Settings,
    loc: Localization,
    revision: int,
    supersedes: int,
    systematic: bool,
    reco: RecoIdentity,
) -> Publication:
    return Publication(
        revision=revision,
        alert_type="update",
        alert_tense=settings.alert_tense,
        now=utcnow(),
        systematic_included=systematic,
        healpix_url=loc.healpix_url,
        supersedes_revision=supersedes,
        reco_algo=reco.algo,
        reco_kind=reco.kind,
        reco_words=reco.words,
    )


def _draft_circular(
    app: App,
    session: Session,
    alert: Alert,
    loc: Localization,
    revision: int,
    far_per_year: float,
    systematic: bool,
    reco: RecoIdentity,
    catalogue: CatalogueMatch | None,
) -> Circular:
    """The track Circular's draft of the refined revision (GOLD and BRONZE alerts)."""
    assert alert.name is not None
    variables = track_vars(
        name=alert.name,
        run_id=alert.run_id,
        event_id=alert.event_id,
        stream=alert.stream,
        event_time=alert.event_time,
        far_per_year=far_per_year,
        **SkyPosition.of(loc).circular_vars(),
        systematic_included=systematic,
        healpix_url=loc.healpix_url,
        contact=app.settings.circular_contact,
        reco_approximation=reco.approximation,
        reco_words=reco.words,
        catalogue=catalogue,
    )
    return store_draft(
        session,
        alert_id=alert.id,
        kind=CircularKind.TRACK,
        text=render_circular(app.renderer, CircularKind.TRACK, variables),
        revision=revision,
        localization_id=loc.id,
    )


def _slack_vars(
    alert: Alert,
    facts: _AlertFacts,
    loc: Localization,
    public: bool,
    held: bool,
    draft: Circular | None,
    reco: RecoIdentity,
) -> RefinedSlackVars:
    shift = (
        angular_distance_deg(facts.rev0_position[0], facts.rev0_position[1], loc.ra_deg, loc.dec_deg)
        if facts.rev0_position is not None
        else None
    )
    return RefinedSlackVars(
        name=facts.label,
        run_id=alert.run_id,
        event_id=alert.event_id,
        stream_title=STREAM_INFO[alert.stream]["title"] if public else "Unclassified",
        public=public,
        revision=loc.revision,
        notices_held=held,
        circular_id=draft.id if draft is not None else None,
        thresholds=loc.thresholds,
        **SkyPosition.of(loc).template_vars(),
        shift_from_rev0_deg=shift,
        png_url=loc.png_url,
        healpix_url=loc.healpix_url,
        scan_ref=loc.scan_ref,
        reco_algo=reco.algo,
        reco_kind=reco.kind,
        reco_warning=reco.warning(),
    )


def _record(
    app: App,
    session: Session,
    alert: Alert,
    facts: _AlertFacts,
    analysis: SkymapAnalysis,
    folder: str,
    staged: StagedSkymap,
    scan_ref: str,
    reco: RecoIdentity,
    catalogue: CatalogueMatch | None,
) -> LocalizationOutcome:
    settings = app.settings
    public = alert.stream in STREAM_INFO
    if public and alert.name is None:
        raise LocalizationError(f"alert {facts.label}: stream {alert.stream} but no public name")
    revision, latest, n_before = _checked_revision(session, alert, facts, public)
    tag = f"rev{revision}" if revision is not None else f"scan{n_before + 1}"
    files = staged.publish(folder, tag, settings.public_base_url)
    loc = localization_row(alert.id, analysis, folder, files, scan_ref, revision)
    session.add(loc)
    session.flush()

    # an approximation's products are never published automatically: a human approves them
    held = public and (settings.rev1_requires_approval or reco.approximation)
    published = (
        _publish_revision(app, session, alert, facts, loc, revision, latest, held, reco, catalogue)
        if revision is not None
        else _Published([], None, [])
    )
    queued = list(published.queued) + _slack_messages(
        app, session, alert, facts, loc, public, held, published, reco
    )
    return LocalizationOutcome(
        status="created",
        alert_id=alert.id,
        scan_ref=scan_ref,
        localization_id=loc.id,
        revision=revision,
        files=files,
        queued_products=tuple(queued),
        circular_id=published.draft.id if published.draft is not None else None,
        superseded_circulars=tuple(published.superseded),
        notices_held=held,
        summary=_summary(facts, scan_ref, revision, loc, reco),
        reco_algo=reco.algo,
        reco_kind=reco.kind,
    )


def _checked_revision(
    session: Session, alert: Alert, facts: _AlertFacts, public: bool
) -> tuple[int | None, int, int]:
    """The revision this localization makes (None: unclassified), the latest one stored (-1: none)
    and how many localizations the alert has; refused if a revision was added meanwhile."""
    latest = session.execute(
        select(func.max(AlertRevision.revision)).where(AlertRevision.alert_id == alert.id)
    ).scalar_one()
    if public and latest is None:
        raise LocalizationError(f"alert {facts.label}: no revision 0 to refine")
    n_before = session.execute(
        select(func.count()).select_from(Localization).where(Localization.alert_id == alert.id)
    ).scalar_one()
    revision = int(latest) + 1 if public else None
    if revision != facts.next_revision:  # the files name the revision they were made for
        raise LocalizationError(
            f"alert {facts.label}: a revision was added while its maps were made (now {latest}); "
            "the hand-off tries again"
        )
    return revision, -1 if latest is None else int(latest), n_before


def _slack_messages(
    app: App,
    session: Session,
    alert: Alert,
    facts: _AlertFacts,
    loc: Localization,
    public: bool,
    held: bool,
    published: _Published,
    reco: RecoIdentity,
) -> list[str]:
    """Queue the Slack message of the localization and, with a draft Circular, its approval request."""
    settings = app.settings
    queued: list[str] = []
    if settings.slack_mode != "off":
        variables = _slack_vars(alert, facts, loc, public, held, published.draft, reco)
        queued += enqueue_many(session, [slack_row(settings, app.renderer, alert.id, loc.id, variables)])
    if published.draft is not None and queue_awaiting_message(
        session, settings, app.renderer, published.draft, facts.label, notices_held=held
    ):
        queued.append("slack_circular")
    return queued


def _summary(
    facts: _AlertFacts, scan_ref: str, revision: int | None, loc: Localization, reco: RecoIdentity
) -> str:
    what = f"revision {revision}" if revision is not None else "unclassified: no public products"
    return (
        f"{facts.label}: localized from scan {scan_ref} ({what}); best fit RA {loc.ra_deg:.2f} "
        f"Dec {loc.dec_deg:+.2f} deg, 90% area {loc.area_90_deg2:.2f} sq. deg"
        + (f"; WARNING: {reco.warning()}" if reco.approximation else f"; made by {reco.algo}")
    )
