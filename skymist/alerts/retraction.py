"""Retracting an alert: a human says the event is likely background.

One transaction, under the alert's row lock:

1. every unsent product of the alert is cancelled (held refined notices included) and every Circular
   draft awaiting approval is superseded: nothing automatic about the alert goes out any more (rows
   already being sent are caught by the dispatcher, which re-reads the alert before sending);
2. if the alert was public (a notice or VOEvent of it was sent), the retraction notice
   (``alert_type`` retraction) and VOEvent (``Retraction`` true, citing the last published revision)
   are queued under a new record number, and the retraction Circular is drafted for approval (for
   an alert with a public name ``IceCube-YYMMDDA``: a synthetic heartbeat's test notices have none);
3. the shifters are told on Slack; the alert becomes ``retracted``; the action is audited.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skybase.json_types import JSONObject
from skymist import audit
from skymist.alert_names import is_public_name
from skymist.alerts.context import STREAM_INFO, Publication, RevisionNumbers, build_context, identity_of
from skymist.alerts.products import revision_specs
from skymist.app import App
from skymist.circulars.context import retraction_vars
from skymist.circulars.drafts import (
    approve_command,
    reject_command,
    render_circular,
    store_draft,
    supersede_awaiting,
)
from skymist.circulars.errors import ActionError
from skymist.circulars.lookup import alert_by_ref
from skymist.circulars.text import one_line
from skymist.config import Settings
from skymist.outbox import keys
from skymist.outbox.queue import OutboxSpec, cancel_pending, enqueue_many, slack_spec
from skymist.rendering import Renderer
from skymist.scans.actions import delete_backend_scans, stop_alert_scans
from skymist.states import AlertState, IllegalTransitionError, OutboxState, check_transition
from skymist.store.models import Alert, AlertRevision, OutboxRow
from skymist.store.product_models import AuditEntry, CircularKind
from skymist.store.types import utcnow

log = logging.getLogger(__name__)
SLACK_RETRACTION_TEMPLATE = "slack/retraction.json.j2"
_PUBLIC_PRODUCTS = ("notice_json", "voevent")
#: numbers of the cited revision the retraction notice and VOEvent repeat
_CITED_NUMBERS = ("err50_deg", "err90_deg", "signalness", "far_per_year", "energy_tev")

#: products that still go out after an alert is retracted (the retraction's own); every other unsent
#: product of a retracted alert is cancelled (here, and by the outbox's before-send hook)
RETRACTION_PRODUCTS = frozenset(
    {
        "retraction_notice_json",
        "retraction_voevent",
        "slack_retraction",
        "retraction_circular",
        "doi_registration",  # the archive's DOI updates: they carry the retraction mark (skymist.archive.doi)
    }
)


class RetractionError(ActionError):
    """A retraction that cannot be done (the message names the alert and why)."""


@dataclass(frozen=True)
class RetractionSlackVars:
    """What the shifters are told about a retraction."""

    name: str
    run_id: int
    event_id: int
    reason: str
    by: str
    previous_state: str
    public: bool  # retraction notice and VOEvent queued
    record_number: int | None
    cancelled_rows: int
    superseded_circulars: int
    circular_id: int | None
    approve_command: str
    reject_command: str

    def as_template_vars(self) -> JSONObject:
        return asdict(self)


@dataclass(frozen=True)
class RetractionOutcome:
    alert: str
    previous_state: str
    public: bool
    record_number: int | None  # record number of the retraction notice (None: nothing was public)
    cites_revision: int | None
    cancelled_rows: int
    superseded_circulars: tuple[int, ...]
    circular_id: int | None
    queued_products: tuple[str, ...]
    audit_id: int
    aborted_backend_scans: tuple[str, ...] = ()

    def to_dict(self) -> JSONObject:
        return asdict(self)


def last_published_revision(session: Session, alert_id: int) -> int | None:
    """The newest revision whose notice or VOEvent was sent (or is being sent), else None."""
    value = session.execute(
        select(func.max(OutboxRow.revision)).where(
            OutboxRow.alert_id == alert_id,
            OutboxRow.product.in_(_PUBLIC_PRODUCTS),
            OutboxRow.state.in_([OutboxState.SENT, OutboxState.SENDING]),
        )
    ).scalar_one()
    return int(value) if value is not None else None


def _cited_systematics(cited: AlertRevision) -> bool:
    """Whether the retracted revision's errors included systematics (as its notice said)."""
    details = cited.details or {}
    if "systematic_included" in details:
        return bool(details["systematic_included"])
    return details.get("thresholds") == "calibrated" and details.get("reco_kind", "reconstruction") == (
        "reconstruction"
    )


def _retraction_rows(app: App, alert: Alert, cited: AlertRevision, record_number: int) -> list[OutboxSpec]:
    settings, renderer = app.settings, app.renderer
    assert alert.name is not None
    numbers: JSONObject = {field: getattr(cited, field) for field in _CITED_NUMBERS}
    missing = [field for field, value in numbers.items() if value is None]
    if missing:
        raise RetractionError(
            f"alert {alert.name}: revision {cited.revision} lacks {', '.join(missing)}, "
            "which the retraction notice repeats"
        )
    ctx = build_context(
        identity_of(alert),
        RevisionNumbers(
            ra_deg=cited.ra_deg, dec_deg=cited.dec_deg, errors_derived=cited.errors_derived, **numbers
        ),
        Publication(
            revision=record_number,
            alert_type="retraction",
            alert_tense=settings.alert_tense,
            now=utcnow(),
            supersedes_revision=cited.revision,
            # repeat what the retracted revision said about its errors (Rev 1 may include systematics)
            systematic_included=_cited_systematics(cited),
        ),
    )
    return revision_specs(settings, renderer, alert.id, ctx, product_prefix="retraction_")


def _slack_row(
    settings: Settings, renderer: Renderer, alert: Alert, variables: RetractionSlackVars
) -> OutboxSpec:
    return slack_spec(
        settings,
        renderer,
        product="slack_retraction",
        idempotency_key=keys.retraction_product(alert.run_id, alert.event_id, "slack_retraction"),
        template=SLACK_RETRACTION_TEMPLATE,
        variables=variables.as_template_vars(),
        alert_id=alert.id,
        revision=variables.record_number,
    )


def retract(app: App, alert_ref: str | int, reason: str, by: str | None = None) -> RetractionOutcome:
    """Retract the alert ``alert_ref`` (name, RUNID_EVENTID or id) for ``reason``; see the module doc."""
    actor = audit.actor_name(by)
    why = one_line(reason, "reason")
    settings = app.settings
    with app.sessions() as session, session.begin():
        alert = alert_by_ref(session, alert_ref, lock=True)
        label = alert.name or f"{alert.run_id}_{alert.event_id}"
        previous = alert.state
        new_state = _retracted_state(previous, label)
        note = f"retracted by {actor}: {why}"
        cancelled = cancel_pending(session, alert.id, note, keep_products=RETRACTION_PRODUCTS)
        superseded = supersede_awaiting(session, alert.id, note, approved_too=True)
        backend_scans = stop_alert_scans(session, alert.id, note)
        told = _public_retraction(app, session, alert, why)
        rows = told.rows
        if settings.slack_mode != "off":
            facts = _RetractionFacts(label, why, actor, previous, cancelled, len(superseded))
            rows.append(_slack_row(settings, app.renderer, alert, _slack_vars(alert, facts, told)))
        enqueue_many(session, rows)
        alert.state = new_state
        alert.updated_at = utcnow()
        entry = _audit(session, alert, actor, why, previous, told, cancelled, superseded)
        outcome = RetractionOutcome(
            alert=label,
            previous_state=previous.value,
            public=told.public,
            record_number=told.record_number,
            cites_revision=told.cited_revision if told.public else None,
            cancelled_rows=cancelled,
            superseded_circulars=tuple(superseded),
            circular_id=told.circular_id,
            queued_products=tuple(row.product for row in rows),
            audit_id=entry.id,
            aborted_backend_scans=tuple(backend_scans),
        )
    not_deleted = delete_backend_scans(app, backend_scans)
    if not_deleted:
        log.warning("backend scans of a retracted alert could not be deleted", extra={"scans": not_deleted})
    return outcome


def _retracted_state(previous: AlertState, label: str) -> AlertState:
    if previous == AlertState.RETRACTED:
        raise RetractionError(f"alert {label}: already retracted")
    try:
        return check_transition(previous, AlertState.RETRACTED)
    except IllegalTransitionError:
        raise RetractionError(f"alert {label}: state = {previous.value!r}; it cannot be retracted") from None


@dataclass
class _PublicRetraction:
    """What the public is told: the notices' rows and the Circular (nothing for a private alert)."""

    public: bool
    cited_revision: int | None
    record_number: int | None = None
    circular_id: int | None = None
    rows: list[OutboxSpec] = field(default_factory=list)


def _public_retraction(app: App, session: Session, alert: Alert, why: str) -> _PublicRetraction:
    cited_revision = last_published_revision(session, alert.id)
    public = alert.source == "realtime" and alert.stream in STREAM_INFO and cited_revision is not None
    told = _PublicRetraction(public, cited_revision)
    if not public:
        return told
    assert cited_revision is not None and alert.name is not None
    cited = session.execute(
        select(AlertRevision).where(
            AlertRevision.alert_id == alert.id, AlertRevision.revision == cited_revision
        )
    ).scalar_one()
    latest = session.execute(
        select(func.max(AlertRevision.revision)).where(AlertRevision.alert_id == alert.id)
    ).scalar_one()
    told.record_number = max(int(latest), cited_revision) + 1
    told.rows += _retraction_rows(app, alert, cited, told.record_number)
    if is_public_name(alert.name):  # a heartbeat's test notices have no Circular
        text = render_circular(
            app.renderer,
            CircularKind.RETRACTION,
            retraction_vars(
                name=alert.name,
                run_id=alert.run_id,
                event_id=alert.event_id,
                stream=alert.stream,
                event_time=alert.event_time,
                reason_text=why,
                contact=app.settings.circular_contact,
            ),
        )
        told.circular_id = store_draft(
            session, alert_id=alert.id, kind=CircularKind.RETRACTION, text=text, revision=cited_revision
        ).id
    return told


@dataclass(frozen=True)
class _RetractionFacts:
    """Who retracted the alert, why, from which state, and what it stopped."""

    label: str
    why: str
    actor: str
    previous: AlertState
    cancelled: int
    superseded: int


def _slack_vars(alert: Alert, facts: _RetractionFacts, told: _PublicRetraction) -> RetractionSlackVars:
    return RetractionSlackVars(
        name=facts.label,
        run_id=alert.run_id,
        event_id=alert.event_id,
        reason=facts.why,
        by=facts.actor,
        previous_state=facts.previous.value,
        public=told.public,
        record_number=told.record_number,
        cancelled_rows=facts.cancelled,
        superseded_circulars=facts.superseded,
        circular_id=told.circular_id,
        approve_command=approve_command(facts.label),
        reject_command=reject_command(facts.label),
    )


def _audit(
    session: Session,
    alert: Alert,
    actor: str,
    why: str,
    previous: AlertState,
    told: _PublicRetraction,
    cancelled: int,
    superseded: list[int],
) -> AuditEntry:
    """The audit entry of the retraction (``alert_retracted``)."""
    details: JSONObject = {
        "previous_state": previous.value,
        "public": told.public,
        "record_number": told.record_number,
        "cancelled_rows": cancelled,
        "superseded_circulars": superseded,
        "circular_id": told.circular_id,
    }
    return audit.record(
        session,
        actor=actor,
        action="alert_retracted",
        subject_kind="alert",
        subject_id=alert.id,
        alert_id=alert.id,
        reason=why,
        details=details,
    )
