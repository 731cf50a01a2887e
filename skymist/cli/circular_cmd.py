"""``skymist circular show|approve|reject``: the human step before a GCN Circular is sent."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skymist.circulars.approval import DecisionOutcome

from skymist.cli.common import (
    SubParsers,
    UserError,
    actor,
    limit,
    opened_app,
    print_json,
    resolve_alert,
    run_guarded,
)


def _show(args: argparse.Namespace) -> int:
    from skymist.circulars.views import alert_circulars_view

    with opened_app(args) as app, app.sessions() as session:
        view = alert_circulars_view(session, resolve_alert(session, args.alert))
    if args.json:
        print_json(view)
        return 0
    alert = view["alert"]
    label = alert["name"] or f"{alert['run_id']}_{alert['event_id']}"
    print(f"{label}  {alert['stream']}  {alert['state']}")
    if not view["circulars"]:
        print("no Circular has been drafted")
        return 0
    for circular in view["circulars"]:
        outbox = circular["outbox"]
        sent = f"  outbox {outbox['id']} {outbox['state']} {outbox['delivery_ref'] or ''}" if outbox else ""
        reason = f"  ({circular['state_reason']})" if circular["state_reason"] else ""
        print(f"  circular {circular['id']}: {circular['kind']:<10} {circular['state']:<17}{sent}{reason}")
    current = next(
        (c for c in view["circulars"] if c["state"] not in ("superseded", "rejected")), view["circulars"][0]
    )
    print(f"\n--- circular {current['id']} ({current['state']}) ---")
    print(f"SUBJECT: {current['subject']}\n\n{current['body']}\n---")
    for entry in view["audit"]:
        why = f": {entry['reason']}" if entry["reason"] else ""
        print(f"  {entry['at'][:19]}  {entry['actor']}  {entry['action']} ({entry['subject']}){why}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.states import CircularState
    from skymist.store.models import Alert
    from skymist.store.product_models import Circular

    with opened_app(args) as app, app.sessions() as session:
        stmt = (
            select(Circular, Alert.name)
            .join(Alert, Alert.id == Circular.alert_id)
            .order_by(Circular.id.desc())
            .limit(args.limit)
        )
        if not args.all:
            stmt = stmt.where(Circular.state == CircularState.AWAITING_APPROVAL)
        rows = [
            {"id": c.id, "alert": name or str(c.alert_id), "kind": c.kind.value, "state": c.state.value,
             "subject": c.subject, "updated_at": c.updated_at.isoformat()}
            for c, name in session.execute(stmt)
        ]  # fmt: skip
    if args.json:
        print_json({"count": len(rows), "circulars": rows})
        return 0
    for r in rows:
        print(f"{r['id']:>5} {r['alert']:<17} {r['kind']:<10} {r['state']:<17} {str(r['subject'])[:60]}")
    print(f"{len(rows)} Circular(s)" + ("" if args.all else " awaiting approval (--all for every one)"))
    return 0


def _edit(args: argparse.Namespace) -> int:
    import os
    import shlex
    import subprocess
    import tempfile
    from pathlib import Path

    from skymist.circulars.editing import awaiting_draft, edit_draft
    from skymist.circulars.errors import ActionError, AlertNotFoundError
    from skymist.circulars.text import CircularText

    by = actor(args)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UserError("no editor: set $EDITOR (e.g. EDITOR=nano) and run it again")
    with opened_app(args) as app:
        try:
            draft = awaiting_draft(app, args.alert)
        except (ActionError, AlertNotFoundError) as exc:
            raise UserError(str(exc)) from None
        with tempfile.TemporaryDirectory(prefix="skymist-circular-") as folder:
            path = Path(folder) / f"circular-{draft.id}.txt"
            path.write_text(CircularText(draft.subject, draft.body).as_file())
            try:
                code = subprocess.call([*shlex.split(editor), str(path)])
            except OSError as exc:
                raise UserError(f"$EDITOR {editor!r} cannot be started: {exc.strerror or exc}") from None
            if code != 0:
                raise UserError(f"$EDITOR {editor!r} exited with {code}: the draft is left as it was")
            text = path.read_text()
        try:
            outcome = edit_draft(app, draft.id, text, by=by, reason=args.reason)
        except (ActionError, AlertNotFoundError) as exc:
            raise UserError(f"edited text not saved: {exc}") from None
    if outcome.changed:
        print(f"circular {outcome.circular_id} edited by {outcome.by} (checked; recorded in the audit log)")
    else:
        print(f"circular {outcome.circular_id}: no change")
    return 0


def _print_decision(outcome: DecisionOutcome, as_json: bool) -> None:
    if as_json:
        print_json(outcome.to_dict())
        return
    print(f"{outcome.alert}: circular {outcome.circular_id} ({outcome.kind}) {outcome.state} by {outcome.by}")
    if outcome.outbox_id is not None:
        print(f"  submission queued (outbox row {outcome.outbox_id})")
    if outcome.released_notices:
        print(f"  {outcome.released_notices} held notice(s) released")
    if outcome.cancelled_notices:
        print(f"  {outcome.cancelled_notices} held notice(s) cancelled")


def _approve(args: argparse.Namespace) -> int:
    from skymist.circulars.approval import approve
    from skymist.circulars.errors import ActionError, AlertNotFoundError

    with opened_app(args) as app:
        try:
            outcome = approve(app, args.alert, by=actor(args), reason=args.reason)
        except (ActionError, AlertNotFoundError) as exc:
            raise UserError(str(exc)) from None
    _print_decision(outcome, args.json)
    return 0


def _reject(args: argparse.Namespace) -> int:
    from skymist.circulars.approval import reject
    from skymist.circulars.errors import ActionError, AlertNotFoundError

    with opened_app(args) as app:
        try:
            outcome = reject(app, args.alert, reason=args.reason, by=actor(args))
        except (ActionError, AlertNotFoundError) as exc:
            raise UserError(str(exc)) from None
    _print_decision(outcome, args.json)
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "circular",
        help="show, approve or reject GCN Circular drafts",
        description="GCN Circulars are drafted automatically and sent only after a human approves them.",
    )
    actions = parser.add_subparsers(dest="circular_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="an alert's Circulars (text of the current one) and their audit")
    show.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
    show.add_argument("--json", action="store_true", help="one JSON document on stdout")
    show.set_defaults(handler=run_guarded(_show))
    lister = actions.add_parser("list", help="Circulars awaiting approval (or --all), newest first")
    lister.add_argument("--all", action="store_true", help="every Circular, whatever its state")
    lister.add_argument("--limit", type=limit, default=50, help="at most this many (default 50)")
    lister.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lister.set_defaults(handler=run_guarded(_list))
    editor = actions.add_parser("edit", help="edit the draft awaiting approval in $EDITOR (checked, audited)")
    editor.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
    editor.add_argument("--by", help="who edits (default: your login name; recorded in the audit)")
    editor.add_argument("--reason", help="why (recorded in the audit log)")
    editor.set_defaults(handler=run_guarded(_edit))
    for name, handler, what in (
        ("approve", _approve, "approve the draft awaiting approval: it is submitted (or written out)"),
        ("reject", _reject, "reject the draft awaiting approval; notices held for it are cancelled"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
        action.add_argument("--by", help="who decides (default: your login name; recorded in the audit)")
        action.add_argument(
            "--reason", required=name == "reject", help="why (required to reject; recorded in the audit log)"
        )
        action.add_argument("--json", action="store_true", help="one JSON document on stdout")
        action.set_defaults(handler=run_guarded(handler))
