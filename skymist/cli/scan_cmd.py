"""``skymist scan ALERT [--plan NAME]``: scan an alert on demand (also an unclassified event)."""

from __future__ import annotations

import argparse

from skymist.cli.common import SubParsers, UserError, actor, opened_app, resolve_alert, run_guarded


def _scan(args: argparse.Namespace) -> int:
    from skymist.scans.actions import ScanActionError, check_scan_allowed, scan_alert
    from skymist.scans.planning import PlanError

    with opened_app(args) as app:
        with app.sessions() as session:
            alert = resolve_alert(session, args.alert)
        try:
            consequence = check_scan_allowed(app, alert.id, args.yes)
            ids = scan_alert(app, alert, args.plan, actor(args))
        except (ScanActionError, PlanError) as exc:
            raise UserError(str(exc)) from None
    print(
        f"planned scan(s) {', '.join(map(str, ids))} for {alert.name or f'{alert.run_id}_{alert.event_id}'}; "
        "a running daemon submits them (follow with `skymist scans list`)"
    )
    if consequence:
        print(f"  confirmed with --yes: {consequence}")
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
    parser.add_argument("--by", help="who asks (default: your login name; recorded with the scan)")
    parser.add_argument(
        "--yes", action="store_true", help="go ahead although the result would publish a new public revision"
    )
    parser.set_defaults(handler=run_guarded(_scan))
