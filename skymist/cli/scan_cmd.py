"""``skymist scan ALERT [--plan NAME]``: scan an alert on demand (also an unclassified event)."""

from __future__ import annotations

import argparse

from skymist.cli.common import SubParsers, UserError, opened_app, resolve_alert, run_guarded
from skymist.scans.actions import ScanActionError, operator, scan_alert
from skymist.scans.planning import PlanError


def _scan(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        with app.sessions() as session:
            alert = resolve_alert(session, args.alert)
        try:
            ids = scan_alert(app, alert, args.plan, args.by or operator())
        except (ScanActionError, PlanError) as exc:
            raise UserError(str(exc)) from None
    print(
        f"planned scan(s) {', '.join(map(str, ids))} for {alert.name or f'{alert.run_id}_{alert.event_id}'}; "
        "a running daemon submits them (follow with `skymist scans list`)"
    )
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "scan",
        help="scan an alert on demand (also an unclassified event)",
        description="Plan scans of an alert's newest revision: the entries of its class's reco plan, "
        "or those named with --plan. The daemon submits and tracks them.",
    )
    parser.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
    parser.add_argument("--plan", action="append", metavar="NAME", help="plan entry name (repeatable)")
    parser.add_argument("--by", help="who asks (default: your user name)")
    parser.set_defaults(handler=run_guarded(_scan))
