"""The action forms: ``GET /alerts/{id}/act/{action}`` shows the form, ``POST`` with ``step=review``
shows what will happen (the confirmation), ``POST`` with ``step=confirm`` does it and returns to the
alert's page. Only a logged-in shifter acts (observers: 403; no session: the login page, which
brings the user back); every POST carries the CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from skymist.circulars.errors import ActionError, AlertNotFoundError
from skymist.circulars.lookup import alert_by_ref
from skymist.console.actions import ACTIONS, Action, ReviewError
from skymist.console.actions import Request as ActionRequest
from skymist.console.auth import Principal, acting_user
from skymist.console.csrf import check_token, read_form
from skymist.console.responses import console_of, page
from skymist.console.sessions import set_flash
from skymist.console.views import label
from skymist.outbox.manual import OutboxActionError
from skymist.scans.actions import ScanActionError
from skymist.scans.planning import PlanError
from skymist.states import IllegalTransitionError

router = APIRouter()

#: what a domain function raises when the action cannot be done as asked (shown on the form)
REFUSALS = (ReviewError, ActionError, AlertNotFoundError, ScanActionError, PlanError, OutboxActionError,
            IllegalTransitionError)  # fmt: skip


def _action(name: str) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        raise HTTPException(404, f"action = {name!r}: one of {', '.join(ACTIONS)}")
    return action


def _request(
    request: Request, who: Principal, alert_id: int, action: Action, fields: dict[str, str]
) -> ActionRequest:
    console = console_of(request)
    with console.app.sessions() as session:
        try:
            alert = alert_by_ref(session, alert_id)
        except AlertNotFoundError:
            raise HTTPException(404, f"no alert with id {alert_id}") from None
        name = label(alert)
    target_text = fields.get("target", "").strip()
    if action.needs_target and not target_text.isdigit():
        raise HTTPException(400, f"target = {target_text!r}: give the id of the {action.name} target")
    return ActionRequest(
        console=console,
        alert_id=alert_id,
        label=name,
        target=int(target_text) if target_text.isdigit() else None,
        reason=fields.get("reason", ""),
        text=fields.get("text", ""),
        user=who.name,
        override=fields.get("override", ""),
    )


def _form(
    request: Request, req: ActionRequest, action: Action, error: str | None = None, status: int = 200
) -> Response:
    text = req.text
    if action.edits_text and not text and error is None:
        from skymist.circulars.editing import awaiting_draft
        from skymist.circulars.text import CircularText

        try:
            draft = awaiting_draft(req.console.app, str(req.alert_id))
            text = CircularText(draft.subject, draft.body).as_file()
        except REFUSALS as exc:
            error, status = str(exc), 409
    return page(request, "action.html.j2", status_code=status, step="form", action=action, req=req,
                text=text, error=error, review=None)  # fmt: skip


@router.get("/alerts/{alert_id}/act/{name}")
def action_form(request: Request, alert_id: int, name: str, target: str = "") -> Response:
    who = acting_user(request)
    action = _action(name)
    return _form(request, _request(request, who, alert_id, action, {"target": target}), action)


@router.post("/alerts/{alert_id}/act/{name}")
async def action_post(request: Request, alert_id: int, name: str) -> Response:
    console = console_of(request)
    who = acting_user(request)
    fields = await read_form(request)
    check_token(fields, who.session.csrf)
    action = _action(name)
    req = _request(request, who, alert_id, action, fields)
    if action.reason_required and not req.reason.strip():
        return _form(
            request, req, action, "reason = '': this action needs a reason (it goes into the audit log)", 400
        )
    try:
        review = action.review(req)
        if fields.get("step") != "confirm":
            return page(request, "action.html.j2", step="review", action=action, req=req, text=req.text,
                        error=None, review=review)  # fmt: skip
        message = action.perform(req)
    except REFUSALS as exc:
        return _form(request, req, action, str(exc), 409)
    response = RedirectResponse(f"/alerts/{alert_id}", status_code=303)
    set_flash(console.app.sessions, who.session.key, message)
    return response
