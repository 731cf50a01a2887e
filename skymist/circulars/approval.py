"""A human approves or rejects the Circular draft of an alert; every decision is audited.

Each decision runs in one transaction that first locks the alert row, so a decision, a retraction
and a rescan of the same alert never interleave, and the draft's state is re-read under that lock
(a draft superseded or decided a moment ago cannot be approved).

* approve: ``awaiting_approval -> approved``; queue its submission (outbox sink ``circulars``, one
  row per Circular) and release the refined notices held for it (``rev1_requires_approval``).
* reject: ``awaiting_approval -> rejected`` with the reason; the refined notices held for it are
  cancelled (the human decided the refined localization is not published as it stands).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist import audit
from skymist.app import App
from skymist.circulars.errors import CircularError
from skymist.circulars.lookup import alert_by_ref
from skymist.circulars.submission import queue_submission
from skymist.outbox.delivery import cited_notice_unsent
from skymist.outbox.held import cancel_held, release_held
from skymist.states import CircularState, check_transition
from skymist.store.models import Alert
from skymist.store.product_models import Circular, CircularKind
from skymist.store.types import utcnow


@dataclass(frozen=True)
class DecisionOutcome:
    """What a human decision did."""

    alert: str
    circular_id: int
    kind: str
    state: str
    by: str
    reason: str | None
    outbox_id: int | None  # the submission row (approval)
    released_notices: int  # held refined notices made due (approval)
    cancelled_notices: int  # held refined notices cancelled (rejection)
    audit_id: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _alert_label(alert: Alert) -> str:
    return alert.name or f"{alert.run_id}_{alert.event_id}"


def awaiting_draft(session: Session, alert: Alert) -> Circular:
    """The alert's draft awaiting approval (locked), or an error saying what there is instead."""
    drafts = list(
        session.execute(
            select(Circular)
            .where(Circular.alert_id == alert.id, Circular.state == CircularState.AWAITING_APPROVAL)
            .order_by(Circular.id.desc())
            .with_for_update()
        ).scalars()
    )
    if len(drafts) == 1:
        return drafts[0]
    if len(drafts) > 1:
        ids = ", ".join(str(d.id) for d in drafts)
        raise CircularError(f"alert {_alert_label(alert)}: several drafts await approval (ids {ids})")
    latest = session.execute(
        select(Circular).where(Circular.alert_id == alert.id).order_by(Circular.id.desc()).limit(1)
    ).scalar_one_or_none()
    if latest is None:
        raise CircularError(f"alert {_alert_label(alert)}: no Circular has been drafted")
    raise CircularError(
        f"alert {_alert_label(alert)}: no Circular awaits approval "
        f"(latest: draft {latest.id}, {latest.kind.value}, state {latest.state.value})"
    )


def refusal(session: Session, alert: Alert) -> str | None:
    """Why the alert's Circular must not be approved yet, or None: the Rev 0 notice it cites was
    queued and never sent (subscribers would read a Circular about a notice they never got)."""
    row = cited_notice_unsent(session, alert.id)
    if row is None:
        return None
    return (
        f"the Rev 0 GCN notice the Circular cites was never sent (outbox row {row.id}, {row.state.value}"
        f"{', queued ' + row.created_at.strftime('%Y-%m-%d %H:%M:%S UTC') if row.created_at else ''})"
    )


def approve(
    app: App,
    alert_ref: str | int,
    *,
    by: str | None = None,
    reason: str | None = None,
    require_cited_sent: bool = False,
    override: str | None = None,
) -> DecisionOutcome:
    """Approve the alert's draft: queue its submission and release the notices held for it.

    With ``require_cited_sent`` the approval is refused (:class:`CircularError`, the reason named)
    while the Rev 0 notice the Circular cites was never sent, unless ``override`` gives a written
    reason; the override is audited (``circular_approval_override``) beside the approval."""
    actor = audit.actor_name(by)
    why_override = " ".join((override or "").split()) or None
    with app.sessions() as session, session.begin():
        alert = alert_by_ref(session, alert_ref, lock=True)
        draft = awaiting_draft(session, alert)
        refused = refusal(session, alert) if require_cited_sent else None
        if refused is not None and why_override is None:
            raise CircularError(
                f"approval refused: {refused}. A shifter may approve anyway with a written reason (override)"
            )
        if refused is not None:
            audit.record(
                session,
                actor=actor,
                action="circular_approval_override",
                subject_kind="circular",
                subject_id=draft.id,
                alert_id=alert.id,
                reason=why_override,
                details={"refusal": refused},
            )
        now = utcnow()
        draft.state = check_transition(draft.state, CircularState.APPROVED)
        draft.approved_by, draft.approved_at, draft.updated_at = actor, now, now
        draft.state_reason = reason
        row = queue_submission(session, draft, _alert_label(alert))
        draft.outbox_id = row.id
        released = (
            release_held(session, alert.id, draft.revision)
            if draft.kind == CircularKind.TRACK and draft.revision is not None
            else 0
        )
        return _decided(
            session,
            alert,
            draft,
            actor,
            "circular_approved",
            reason,
            outbox_id=row.id,
            released=released,
            cancelled=0,
        )


def reject(app: App, alert_ref: str | int, *, reason: str, by: str | None = None) -> DecisionOutcome:
    """Reject the alert's draft (a reason is required); the notices held for it are cancelled."""
    actor = audit.actor_name(by)
    why = " ".join(reason.split())
    if not why:
        raise CircularError("reason = '': a rejection needs a reason")
    with app.sessions() as session, session.begin():
        alert = alert_by_ref(session, alert_ref, lock=True)
        draft = awaiting_draft(session, alert)
        now = utcnow()
        draft.state = check_transition(draft.state, CircularState.REJECTED)
        draft.rejected_by, draft.rejected_at, draft.updated_at = actor, now, now
        draft.state_reason = why
        cancelled = (
            cancel_held(
                session,
                alert.id,
                f"Circular {draft.id} rejected by {actor}: {why}",
                revision=draft.revision,
            )
            if draft.kind == CircularKind.TRACK and draft.revision is not None
            else 0
        )
        return _decided(
            session,
            alert,
            draft,
            actor,
            "circular_rejected",
            why,
            outbox_id=None,
            released=0,
            cancelled=cancelled,
        )


def _decided(
    session: Session,
    alert: Alert,
    draft: Circular,
    actor: str,
    action: str,
    reason: str | None,
    *,
    outbox_id: int | None,
    released: int,
    cancelled: int,
) -> DecisionOutcome:
    """Record a human decision on a draft in the audit log and describe it."""
    details: dict[str, object] = {
        "kind": draft.kind.value,
        "subject": draft.subject,
        "revision": draft.revision,
    }
    if outbox_id is not None:
        details.update(outbox_id=outbox_id, released_notices=released)
    else:
        details["cancelled_notices"] = cancelled
    entry = audit.record(
        session,
        actor=actor,
        action=action,
        subject_kind="circular",
        subject_id=draft.id,
        alert_id=alert.id,
        reason=reason,
        details=details,
    )
    return DecisionOutcome(
        alert=_alert_label(alert),
        circular_id=draft.id,
        kind=draft.kind.value,
        state=draft.state.value,
        by=actor,
        reason=reason,
        outbox_id=outbox_id,
        released_notices=released,
        cancelled_notices=cancelled,
        audit_id=entry.id,
    )
