"""A human releases a held refined revision (Rev 1 notice and VOEvent) without waiting for the
Circular's approval: what ``skymist localize --yes`` does at import, for a revision already made.

Same rules as the CLI: never for a retracted alert; never for an approximation's revision (its
products go out only with the Circular's approval, :mod:`skymist.circulars.approval`); a reason is
required and the release is audited (``rev1_released``). One transaction under the alert's row lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from skymist import audit
from skymist.app import App
from skymist.circulars.errors import ActionError
from skymist.circulars.lookup import alert_by_ref
from skymist.outbox.held import held_where, release_held
from skymist.states import AlertState
from skymist.store.models import AlertRevision, OutboxRow


class ReleaseError(ActionError):
    """A release that cannot be done (the message names the alert and why)."""


@dataclass(frozen=True)
class ReleaseOutcome:
    alert: str
    revision: int
    released: int
    by: str
    audit_id: int


def held_revision(app: App, alert_id: int) -> int | None:
    """The revision whose refined notices are held, if any (for the console to offer the action)."""
    with app.sessions() as session:
        return (
            session.execute(
                select(OutboxRow.revision)
                .where(*held_where(alert_id, None))
                .order_by(OutboxRow.revision.desc())
            )
            .scalars()
            .first()
        )


def release_revision(app: App, alert_ref: str | int, *, by: str, reason: str) -> ReleaseOutcome:
    """Make the held refined notices of the alert's newest held revision due now (audited)."""
    actor = audit.actor_name(by)
    why = " ".join(reason.split())
    if not why:
        raise ReleaseError("reason = '': releasing a held revision needs a reason")
    with app.sessions() as session, session.begin():
        alert = alert_by_ref(session, alert_ref, lock=True)
        label = alert.name or f"{alert.run_id}_{alert.event_id}"
        if alert.state == AlertState.RETRACTED:
            raise ReleaseError(f"alert {label} is retracted: nothing of it is released")
        revision = (
            session.execute(
                select(OutboxRow.revision)
                .where(*held_where(alert.id, None))
                .order_by(OutboxRow.revision.desc())
            )
            .scalars()
            .first()
        )
        if revision is None:
            raise ReleaseError(f"alert {label} has no held refined notice")
        row = session.execute(
            select(AlertRevision).where(
                AlertRevision.alert_id == alert.id, AlertRevision.revision == revision
            )
        ).scalar_one_or_none()
        kind = (row.details or {}).get("reco_kind") if row is not None else None
        if kind == "approximation":
            raise ReleaseError(
                f"alert {label} revision {revision} was made by an approximation "
                f"({(row.details or {}).get('reco_algo') if row else '?'}): it goes out only with the "
                "Circular's approval"
            )
        released = release_held(session, alert.id, revision)
        entry = audit.record(
            session,
            actor=actor,
            action="rev1_released",
            subject_kind="alert",
            subject_id=alert.id,
            alert_id=alert.id,
            reason=why,
            details={"revision": revision, "released_notices": released},
        )
        return ReleaseOutcome(label, revision, released, actor, entry.id)
