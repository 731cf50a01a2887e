"""The human actions of the console, each the same domain function the CLI command calls:

=========  ==============================================  =========================================
action     what it does                                    domain function (CLI command)
=========  ==============================================  =========================================
approve    approve the Circular draft: it is submitted     circulars.approval.approve (circular approve)
edit       replace the draft's text (checked; diff shown)  circulars.editing.edit_draft (circular edit)
reject     reject the draft (reason required)              circulars.approval.reject (circular reject)
release    release a held Rev 1 notice and VOEvent         alerts.release.release_revision (alerts release)
rescan     run a scan again                                scans.actions.rescan (scans rescan)
retract    retract the alert (reason required)             alerts.retraction.retract (retract)
retry      send a dead outbox row again                    outbox.manual.retry_rows (outbox retry)
cancel     never send a pending or dead outbox row         outbox.manual.cancel_rows (outbox cancel)
=========  ==============================================  =========================================

Each runs in two steps: ``review`` (what will happen, the diff of an edit) and ``perform`` (after
the user confirms). Every one is audited with the user's name and the reason given.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from skymist.alerts.release import held_revision, release_revision
from skymist.alerts.retraction import retract
from skymist.circulars.approval import approve, refusal, reject
from skymist.circulars.editing import awaiting_draft, edit_draft, parse_edited
from skymist.circulars.text import CircularText
from skymist.console.context import Console
from skymist.outbox.delivery import undelivered_before
from skymist.outbox.manual import cancel_rows, retry_rows
from skymist.scans.actions import check_scan_allowed, rescan
from skymist.scans.backend import make_scanner_client
from skymist.states import OutboxState
from skymist.store.models import Alert, OutboxRow
from skymist.store.scan_models import Scan


class ReviewError(ValueError):
    """The action cannot be done as asked (shown on the form, nothing changed)."""


@dataclass(frozen=True)
class Review:
    """What the confirmation page shows."""

    lines: list[str]
    diff: list[tuple[str, str]] = field(default_factory=list)  # (css class, line)
    #: products of the alert not delivered yet, named on the confirmation page
    undelivered: list[str] = field(default_factory=list)
    #: why the action is refused unless overridden with a written reason (the form asks for one)
    refusal: str | None = None


@dataclass(frozen=True)
class Request:
    console: Console
    alert_id: int
    label: str
    target: int | None
    reason: str
    text: str  # the edited Circular (edit)
    user: str
    override: str = ""  # the written reason to approve although the cited notice was never sent


@dataclass(frozen=True)
class Action:
    name: str
    title: str
    reason_required: bool
    review: Callable[[Request], Review]
    perform: Callable[[Request], str]
    needs_target: bool = False
    edits_text: bool = False


def _reason(req: Request) -> str | None:
    return req.reason.strip() or None


def _draft_lines(req: Request, verb: str) -> list[str]:
    draft = awaiting_draft(req.console.app, str(req.alert_id))
    return [f"Circular {draft.id} ({draft.kind.value}) will be {verb}:", f"SUBJECT: {draft.subject}"]


def _review_approve(req: Request) -> Review:
    lines = _draft_lines(req, "approved")
    settings = req.console.app.settings
    lines.append(
        "It is then submitted to the GCN Circulars API." if settings.circulars_enabled
        else f"It is then written as a ready-to-send file under {settings.data_dir / 'circulars'}."
    )  # fmt: skip
    held = held_revision(req.console.app, req.alert_id)
    if held is not None:
        lines.append(f"The held Rev {held} notice and VOEvent are released with it.")
    app = req.console.app
    with app.sessions() as session:
        draft = awaiting_draft(app, str(req.alert_id))
        missing = undelivered_before(session, app.settings, req.alert_id, draft.revision, req.console.clock())
        alert = session.get(Alert, req.alert_id)
        refused = refusal(session, alert) if alert is not None else None
    undelivered = [f"Rev {p.revision} {p.product}: {p.describe()} (outbox row {p.id})" for p in missing]
    return Review(lines, undelivered=undelivered, refusal=refused)


def _perform_approve(req: Request) -> str:
    out = approve(
        req.console.app,
        req.alert_id,
        by=req.user,
        reason=_reason(req),
        require_cited_sent=True,
        override=req.override or None,
    )
    overridden = " (override: the cited notice was not sent)" if req.override.strip() else ""
    return (
        f"Circular {out.circular_id} approved by {out.by}{overridden}: submission queued "
        f"(outbox row {out.outbox_id})"
    )


def _review_reject(req: Request) -> Review:
    lines = _draft_lines(req, "rejected")
    lines.append("The refined notices held for it are cancelled.")
    return Review(lines)


def _perform_reject(req: Request) -> str:
    out = reject(req.console.app, req.alert_id, reason=req.reason, by=req.user)
    return (
        f"Circular {out.circular_id} rejected by {out.by} ({out.cancelled_notices} held notice(s) cancelled)"
    )


def _review_edit(req: Request) -> Review:
    draft = awaiting_draft(req.console.app, str(req.alert_id))
    old = CircularText(draft.subject, draft.body).as_file()
    new = req.text.replace("\r\n", "\n")
    if not new.endswith("\n"):
        new += "\n"
    edited = parse_edited(new)  # the same checks as `circular edit`: a bad text is refused here
    new = edited.as_file()
    if new == old:
        raise ReviewError("the text is unchanged: nothing to save")
    diff = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), "draft", "edited", lineterm=""):
        if line.startswith(("+++", "---", "@@")):
            kind = "hunk"
        else:
            kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
        diff.append((kind, line))
    return Review([f"Circular {draft.id} will be changed as shown (checked against GCN's rules):"], diff)


def _perform_edit(req: Request) -> str:
    draft = awaiting_draft(req.console.app, str(req.alert_id))
    out = edit_draft(
        req.console.app, draft.id, req.text.replace("\r\n", "\n"), by=req.user, reason=_reason(req)
    )
    return f"Circular {out.circular_id} edited by {out.by}" if out.changed else "no change"


def _review_release(req: Request) -> Review:
    held = held_revision(req.console.app, req.alert_id)
    if held is None:
        raise ReviewError(f"{req.label} has no held refined notice")
    return Review([f"The held Rev {held} GCN notice and VOEvent of {req.label} are sent now, "
                   "before the Circular is approved."])  # fmt: skip


def _perform_release(req: Request) -> str:
    out = release_revision(req.console.app, req.alert_id, by=req.user, reason=req.reason)
    return f"Rev {out.revision} released by {out.by} ({out.released} notice(s))"


def _scan(req: Request) -> Scan:
    with req.console.app.sessions() as session:
        scan = session.get(Scan, req.target)
        if scan is None or scan.alert_id != req.alert_id:
            raise ReviewError(f"scan = {req.target}: no such scan of {req.label}")
        return scan


def _review_rescan(req: Request) -> Review:
    scan = _scan(req)
    consequence = check_scan_allowed(req.console.app, req.alert_id, True)
    replacing = f", replacing backend scan {scan.backend_scan_id}." if scan.backend_scan_id else "."
    lines = [f"Scan {scan.id} ({scan.plan_entry}, {scan.state.value}) is run again{replacing}"]
    if consequence:
        lines.append(f"Its result will be public: {consequence}.")
    return Review(lines)


def _perform_rescan(req: Request) -> str:
    scan = _scan(req)
    check_scan_allowed(req.console.app, req.alert_id, True)
    with make_scanner_client(req.console.app.settings) as client:
        done = rescan(req.console.app, client, scan.id, by=req.user, reason=_reason(req))
    return f"scan {done.id}: {done.state.value}" + (
        f", backend scan {done.backend_scan_id}" if done.backend_scan_id else ""
    )


def _review_retract(req: Request) -> Review:
    return Review([
        f"{req.label} is retracted: every unsent product is cancelled, Circular drafts are superseded "
        "and its scans stopped.",
        "If it was public, the retraction notice and VOEvent are sent and a retraction Circular is "
        "drafted for approval. A retraction is final.",
    ])  # fmt: skip


def _perform_retract(req: Request) -> str:
    out = retract(req.console.app, req.alert_id, req.reason, by=req.user)
    return f"{out.alert} retracted by {req.user} ({out.cancelled_rows} pending product(s) stopped)"


def _row(req: Request, states: tuple[OutboxState, ...]) -> OutboxRow:
    with req.console.app.sessions() as session:
        row = session.execute(select(OutboxRow).where(OutboxRow.id == req.target)).scalar_one_or_none()
        if row is None or row.alert_id != req.alert_id:
            raise ReviewError(f"outbox row = {req.target}: no such row of {req.label}")
        if row.state not in states:
            raise ReviewError(f"outbox row {row.id} is {row.state.value}: the action does not apply")
        return row


def _review_retry(req: Request) -> Review:
    row = _row(req, (OutboxState.DEAD,))
    return Review([f"Outbox row {row.id} ({row.product} to {row.sink} {row.destination}) is queued again "
                   "with its attempts reset; the dispatcher sends it."])  # fmt: skip


def _perform_retry(req: Request) -> str:
    ids = retry_rows(req.console.app.sessions, [req.target or 0], by=req.user, reason=_reason(req))
    return f"outbox row {ids[0]} queued again by {req.user}"


def _review_cancel(req: Request) -> Review:
    row = _row(req, (OutboxState.PENDING, OutboxState.DEAD))
    return Review([f"Outbox row {row.id} ({row.product} to {row.sink} {row.destination}) is cancelled: "
                   "it will never be sent."])  # fmt: skip


def _perform_cancel(req: Request) -> str:
    ids = cancel_rows(req.console.app.sessions, [req.target or 0], by=req.user, reason=req.reason)
    return f"outbox row {ids[0]} cancelled by {req.user}"


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("approve", "Approve the Circular", False, _review_approve, _perform_approve),
        Action("edit", "Edit the Circular", False, _review_edit, _perform_edit, edits_text=True),
        Action("reject", "Reject the Circular", True, _review_reject, _perform_reject),
        Action("release", "Release the held Rev 1", True, _review_release, _perform_release),
        Action("rescan", "Rescan", False, _review_rescan, _perform_rescan, needs_target=True),
        Action("retract", "Retract the alert", True, _review_retract, _perform_retract),
        Action("retry", "Retry the outbox row", False, _review_retry, _perform_retry, needs_target=True),
        Action("cancel", "Cancel the outbox row", True, _review_cancel, _perform_cancel, needs_target=True),
    )
}
