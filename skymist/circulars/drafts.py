"""Render a Circular from its template, store it as a draft awaiting approval, tell the shifters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.circulars.context import RetractionCircularVars, TrackCircularVars
from skymist.circulars.text import CircularText, split_rendered
from skymist.config import Settings
from skymist.outbox import keys
from skymist.outbox.queue import enqueue, slack_spec
from skymist.rendering import Renderer
from skymist.states import CircularState, check_transition
from skymist.store.product_models import Circular, CircularKind
from skymist.store.types import utcnow

TEMPLATES: dict[CircularKind, str] = {
    CircularKind.TRACK: "circulars/track.txt.j2",
    CircularKind.RETRACTION: "circulars/retraction.txt.j2",
}
SLACK_CIRCULAR_TEMPLATE = "slack/circular.json.j2"
#: how much of the body the Slack message shows (a section holds at most 3000 characters)
SLACK_BODY_CHARS = 2600


def render_circular(
    renderer: Renderer, kind: CircularKind, variables: TrackCircularVars | RetractionCircularVars
) -> CircularText:
    """The Circular of ``kind`` rendered from ``variables`` and checked against GCN's rules."""
    template = TEMPLATES[kind]
    return split_rendered(template, renderer.render(template, variables.as_template_vars()))


def approve_command(alert_name: str) -> str:
    return f"skymist circular approve {alert_name} --by YOUR_NAME"


def reject_command(alert_name: str) -> str:
    return f'skymist circular reject {alert_name} --reason "WHY" --by YOUR_NAME'


@dataclass(frozen=True)
class CircularSlackVars:
    """The Slack message saying a Circular awaits approval."""

    name: str
    circular_id: int
    kind: str
    subject: str
    body_excerpt: str
    body_truncated: bool
    notices_held: bool
    approve_command: str
    reject_command: str
    show_command: str

    def as_template_vars(self) -> dict[str, Any]:
        return asdict(self)


def slack_vars(circular: Circular, alert_name: str, *, notices_held: bool) -> CircularSlackVars:
    return CircularSlackVars(
        name=alert_name,
        circular_id=circular.id,
        kind=circular.kind.value,
        subject=circular.subject,
        body_excerpt=circular.body[:SLACK_BODY_CHARS],
        body_truncated=len(circular.body) > SLACK_BODY_CHARS,
        notices_held=notices_held,
        approve_command=approve_command(alert_name),
        reject_command=reject_command(alert_name),
        show_command=f"skymist circular show {alert_name}",
    )


def supersede_awaiting(
    session: Session, alert_id: int, reason: str, *, approved_too: bool = False
) -> list[int]:
    """Every draft of the alert still awaiting approval (and, with ``approved_too``, every approved one
    not yet submitted: a retraction stops those) becomes ``superseded``; returns their ids."""
    states = [CircularState.AWAITING_APPROVAL, *([CircularState.APPROVED] if approved_too else [])]
    drafts = session.execute(
        select(Circular)
        .where(Circular.alert_id == alert_id, Circular.state.in_(states))
        .order_by(Circular.id)
        .with_for_update()
    ).scalars()
    ids = []
    for draft in drafts:
        draft.state = check_transition(draft.state, CircularState.SUPERSEDED)
        draft.state_reason = reason
        draft.updated_at = utcnow()
        ids.append(draft.id)
    return ids


def store_draft(
    session: Session,
    *,
    alert_id: int,
    kind: CircularKind,
    text: CircularText,
    revision: int | None,
    localization_id: int | None = None,
) -> Circular:
    """A new draft awaiting approval (flushed: its id is set)."""
    now = utcnow()
    draft = Circular(
        alert_id=alert_id,
        kind=kind,
        revision=revision,
        localization_id=localization_id,
        subject=text.subject,
        body=text.body,
        state=CircularState.AWAITING_APPROVAL,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    return draft


def queue_awaiting_message(
    session: Session,
    settings: Settings,
    renderer: Renderer,
    circular: Circular,
    alert_name: str,
    *,
    notices_held: bool,
) -> bool:
    """Queue the Slack message that ``circular`` awaits approval (unless Slack is off)."""
    if settings.slack_mode == "off":
        return False
    variables = slack_vars(circular, alert_name, notices_held=notices_held)
    spec = slack_spec(
        settings,
        renderer,
        product="slack_circular",
        idempotency_key=keys.circular_product(circular.id, "slack_circular"),
        template=SLACK_CIRCULAR_TEMPLATE,
        variables=variables.as_template_vars(),
        alert_id=circular.alert_id,
        revision=circular.revision,
    )
    enqueue(session, spec)
    return True
