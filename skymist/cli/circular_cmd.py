"""``skymist circular show|approve|reject``: the human step before a GCN Circular is sent."""

from __future__ import annotations

import argparse

from skymist.circulars.approval import DecisionOutcome, approve, reject
from skymist.circulars.errors import ActionError, AlertNotFoundError
from skymist.circulars.views import alert_circulars_view
from skymist.cli.common import SubParsers, UserError, opened_app, print_json, resolve_alert, run_guarded


def _show(args: argparse.Namespace) -> int:
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
    with opened_app(args) as app:
        try:
            outcome = approve(app, args.alert, by=args.by, reason=args.reason)
        except (ActionError, AlertNotFoundError) as exc:
            raise UserError(str(exc)) from None
    _print_decision(outcome, args.json)
    return 0


def _reject(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        try:
            outcome = reject(app, args.alert, reason=args.reason, by=args.by)
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
    for name, handler, what in (
        ("approve", _approve, "approve the draft awaiting approval: it is submitted (or written out)"),
        ("reject", _reject, "reject the draft awaiting approval; notices held for it are cancelled"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
        action.add_argument("--by", help="who decides (default: $USER)")
        action.add_argument(
            "--reason", required=name == "reject", help="why (required to reject; recorded in the audit log)"
        )
        action.add_argument("--json", action="store_true", help="one JSON document on stdout")
        action.set_defaults(handler=run_guarded(handler))
