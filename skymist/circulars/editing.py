"""A human edits a Circular draft before approving it: the new text is checked against the same
rules as a rendered one and the change is recorded in the audit log (who, when, the old text)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from skymist import audit
from skymist.app import App
from skymist.circulars.errors import ActionError, CircularFormatError
from skymist.circulars.lookup import alert_by_ref
from skymist.circulars.text import SUBJECT_PREFIX, CircularText, check_circular
from skymist.states import CircularState
from skymist.store.product_models import Circular
from skymist.store.types import utcnow


@dataclass(frozen=True)
class EditOutcome:
    circular_id: int
    changed: bool
    by: str


def parse_edited(text: str) -> CircularText:
    """``SUBJECT: ...``, a blank line, the body (the form ``circular edit`` opens in the editor)."""
    first, _, rest = text.partition("\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise CircularFormatError(f"first line = {first[:60]!r}: expected '{SUBJECT_PREFIX}...'")
    if not rest.startswith("\n"):
        raise CircularFormatError("the subject line must be followed by a blank line")
    circular = CircularText(first[len(SUBJECT_PREFIX) :].strip(), rest[1:].strip("\n"))
    check_circular(circular)
    return circular


def awaiting_draft(app: App, alert_ref: str) -> Circular:
    """The alert's Circular that awaits approval (the only one that may be edited)."""
    with app.sessions() as session:
        alert = alert_by_ref(session, alert_ref)
        draft = session.execute(
            select(Circular)
            .where(Circular.alert_id == alert.id, Circular.state == CircularState.AWAITING_APPROVAL)
            .order_by(Circular.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if draft is None:
            raise ActionError(f"alert {alert.name or alert.id} has no Circular awaiting approval to edit")
        return draft


def edit_draft(app: App, circular_id: int, text: str, *, by: str, reason: str | None = None) -> EditOutcome:
    """Replace the draft's subject and body with the checked ``text`` (audited); unchanged text is a
    no-op. Only a draft still awaiting approval may change (re-read under a lock)."""
    edited = parse_edited(text)
    actor = audit.actor_name(by)
    with app.sessions() as session, session.begin():
        draft = session.get(Circular, circular_id, with_for_update=True)
        if draft is None or draft.state != CircularState.AWAITING_APPROVAL:
            state = draft.state.value if draft is not None else "gone"
            raise ActionError(f"circular {circular_id} is {state}: only a draft awaiting approval is edited")
        if (draft.subject, draft.body) == (edited.subject, edited.body):
            return EditOutcome(circular_id, False, actor)
        old = CircularText(draft.subject, draft.body).as_file()
        draft.subject, draft.body, draft.updated_at = edited.subject, edited.body, utcnow()
        audit.record(
            session,
            actor=actor,
            action="circular_edited",
            subject_kind="circular",
            subject_id=draft.id,
            alert_id=draft.alert_id,
            reason=reason,
            details={
                "old_sha256": hashlib.sha256(old.encode()).hexdigest(),
                "new_sha256": hashlib.sha256(edited.as_file().encode()).hexdigest(),
                "old_text": old,
            },
        )
    return EditOutcome(circular_id, True, actor)
