"""``/trouble``: everything on the record of trouble (skymist.trouble, the one reader ``skymist check``
uses too), with the CLI's actions, each audited with the shifter's name and reason:

==============  =========================================  =======================================
kind            actions                                    the CLI's
==============  =========================================  =======================================
dead_letter     replay, discard, acknowledge (up to it)    dead-letter replay | discard | ack
outbox_dead     retry, cancel                              outbox retry | cancel
handoff_failed  retry (the skymap step), acknowledge       scans localize
scan_failed     acknowledge (rescan: the alert's page)     scans rescan
archive         acknowledge
input_stream    acknowledge
==============  =========================================  =======================================

``POST /trouble/act`` (CSRF, shifters only) with ``kind``, ``id``, ``action`` and ``reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from skymist import audit
from skymist.console.auth import acting_user, page_user
from skymist.console.csrf import check_token, read_form
from skymist.console.responses import console_of, page
from skymist.console.sessions import set_flash
from skymist.ingest.dead_letters import DeadLetterError, discard_letters, replay_letter
from skymist.ingest.inbox import Ingestor
from skymist.outbox.manual import OutboxActionError, cancel_rows, retry_rows
from skymist.states import ScanState
from skymist.store.db import one_snapshot
from skymist.store.models import Alert
from skymist.store.scan_models import Scan
from skymist.trouble import (
    TITLES,
    Trouble,
    TroubleError,
    TroubleKind,
    acknowledge,
    acknowledge_dead_letters,
    read_trouble,
)

router = APIRouter()

#: per kind, its actions: (name, button text, reason required)
ACTIONS: dict[TroubleKind, tuple[tuple[str, str, bool], ...]] = {
    TroubleKind.DEAD_LETTER: (
        ("replay", "Replay", False),
        ("discard", "Discard", True),
        ("acknowledge", "Acknowledge up to here", True),
    ),
    TroubleKind.OUTBOX_DEAD: (("retry", "Retry", False), ("cancel", "Cancel", True)),
    TroubleKind.OUTBOX_FAILING: (),
    TroubleKind.HANDOFF_FAILED: (
        ("retry", "Retry the skymap step", False),
        ("acknowledge", "Acknowledge", True),
    ),
    TroubleKind.SCAN_FAILED: (("acknowledge", "Acknowledge", True),),
    TroubleKind.ARCHIVE: (("acknowledge", "Acknowledge", True),),
    TroubleKind.INPUT_STREAM: (("acknowledge", "Acknowledge", True),),
}

REFUSALS = (TroubleError, DeadLetterError, OutboxActionError)


def _item(t: Trouble, labels: dict[int, str]) -> dict[str, Any]:
    return {
        "kind": t.kind.value,
        "id": t.id,
        "alert_id": t.alert_id,
        "alert": labels.get(t.alert_id) if t.alert_id is not None else None,
        "at": t.at.strftime("%Y-%m-%d %H:%M:%S UTC") if t.at.year > 1 else "",
        "summary": t.summary,
        "detail": t.detail,
        "acknowledged": t.acknowledged,
        "rescan": t.kind == TroubleKind.SCAN_FAILED and t.alert_id is not None,
    }


def _view(request: Request) -> dict[str, Any]:
    console = console_of(request)
    with console.app.sessions() as session:
        one_snapshot(session)
        record = read_trouble(session, console.app.settings)
        ids = {t.alert_id for t in record.items if t.alert_id is not None}
        labels = {
            a.id: a.name or f"{a.run_id}_{a.event_id}"
            for a in session.execute(select(Alert).where(Alert.id.in_(ids))).scalars()
        }
    sections = []
    for kind in TroubleKind:
        items = [_item(t, labels) for t in record.of(kind)]
        sections.append(
            {
                "kind": kind.value,
                "title": TITLES[kind],
                "entries": items,
                "open": record.open(kind),
                "actions": [{"name": n, "text": t, "reason_required": r} for n, t, r in ACTIONS[kind]],
            }
        )
    return {"sections": sections, "dead_letters_acked": record.dead_letters_acked}


@router.get("/trouble")
def trouble(request: Request) -> Response:
    page_user(request)
    return page(request, "trouble.html.j2", error=None, **_view(request))


def _retry_handoff(request: Request, scan_id: int, by: str, reason: str | None) -> str:
    """The skymap step of a final scan again (``skymist scans localize``), audited."""
    from skymist.runtime.lifecycle import localize_consumer
    from skymist.scans.handoff import FinalScan, Handoff

    app = console_of(request).app
    with app.sessions() as session, session.begin():
        scan = session.get(Scan, scan_id, with_for_update=True)
        if scan is None or scan.state != ScanState.FINAL or scan.backend_scan_id is None:
            raise TroubleError(f"scan {scan_id}: no final scan whose skymap step can be tried again")
        scan.handoff_attempts, scan.handoff_error = 0, None
        final = FinalScan(scan.id, scan.alert_id, scan.revision, scan.plan_entry, scan.backend_scan_id)
        audit.record(
            session,
            actor=by,
            action="handoff_retried",
            subject_kind="scan",
            subject_id=scan.id,
            alert_id=scan.alert_id,
            reason=reason,
        )
    ok = Handoff(app, [localize_consumer()]).hand_over(final)
    return f"scan {scan_id}: skymap step " + ("done" if ok else "failed again (see the record)")


def _perform(request: Request, kind: TroubleKind, action: str, item_id: int, by: str, reason: str) -> str:
    app = console_of(request).app
    why = reason.strip() or None
    todo: dict[tuple[TroubleKind, str], Callable[[], str]] = {}

    def replay() -> str:
        result = replay_letter(app, Ingestor(app), item_id, by=by, reason=why)
        still = " (still failing: it stays open)" if result.status == "dead_letter" else ""
        return f"dead letter {item_id} replayed by {by}: {result.status}: {result.summary}{still}"

    def discard() -> str:
        with app.sessions() as session, session.begin():
            discard_letters(session, [item_id], by=by, reason=reason)
        return f"dead letter {item_id} discarded by {by}"

    def ack_letters() -> str:
        with app.sessions() as session, session.begin():
            floor = acknowledge_dead_letters(session, by=by, reason=why, upto=item_id)
        return f"dead letters up to id {floor} acknowledged by {by}"

    def retry() -> str:
        ids = retry_rows(app.sessions, [item_id], by=by, reason=why)
        return f"outbox row {ids[0]} queued again by {by}"

    def cancel() -> str:
        ids = cancel_rows(app.sessions, [item_id], by=by, reason=reason)
        return f"outbox row {ids[0]} cancelled by {by}"

    def ack() -> str:
        with app.sessions() as session, session.begin():
            found = acknowledge(session, app.settings, kind, item_id, by=by, reason=reason)
        return f"{kind.value} {item_id} acknowledged by {by}: {found.summary}"

    todo[(TroubleKind.DEAD_LETTER, "replay")] = replay
    todo[(TroubleKind.DEAD_LETTER, "discard")] = discard
    todo[(TroubleKind.DEAD_LETTER, "acknowledge")] = ack_letters
    todo[(TroubleKind.OUTBOX_DEAD, "retry")] = retry
    todo[(TroubleKind.OUTBOX_DEAD, "cancel")] = cancel
    todo[(TroubleKind.HANDOFF_FAILED, "retry")] = lambda: _retry_handoff(request, item_id, by, why)
    for k in (
        TroubleKind.HANDOFF_FAILED,
        TroubleKind.SCAN_FAILED,
        TroubleKind.ARCHIVE,
        TroubleKind.INPUT_STREAM,
    ):
        todo[(k, "acknowledge")] = ack
    step = todo.get((kind, action))
    if step is None:
        names = ", ".join(name for name, _, _ in ACTIONS[kind]) or "none"
        raise HTTPException(400, f"action = {action!r}: the actions on {kind.value} are {names}")
    required = {name: needed for name, _, needed in ACTIONS[kind]}
    if required.get(action) and why is None:
        raise TroubleError(f"reason = '': {action} needs a reason (it goes into the audit log)")
    return step()


@router.post("/trouble/act")
async def trouble_act(request: Request) -> Response:
    console = console_of(request)
    who = acting_user(request)
    fields = await read_form(request)
    check_token(fields, who.session.csrf)
    kind_text, id_text = fields.get("kind", ""), fields.get("id", "").strip()
    try:
        kind = TroubleKind(kind_text)
    except ValueError:
        raise HTTPException(
            400, f"kind = {kind_text!r}: one of {', '.join(k.value for k in TroubleKind)}"
        ) from None
    if not id_text.isdigit():
        raise HTTPException(400, f"id = {id_text!r}: give the item's id")
    try:
        message = _perform(
            request, kind, fields.get("action", ""), int(id_text), who.name, fields.get("reason", "")
        )
    except REFUSALS as exc:
        return page(request, "trouble.html.j2", status_code=409, error=str(exc), **_view(request))
    set_flash(console.app.sessions, who.session.key, message)
    return RedirectResponse("/trouble", status_code=303)
