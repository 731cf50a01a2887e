"""``skymist retract ALERT --reason TEXT``: a human retracts an alert."""

from __future__ import annotations

import argparse

from skymist.cli.common import SubParsers, UserError, actor, opened_app, print_json, run_guarded


def _retract(args: argparse.Namespace) -> int:
    from skymist.alerts.retraction import retract
    from skymist.circulars.errors import ActionError, AlertNotFoundError

    with opened_app(args) as app:
        try:
            outcome = retract(app, args.alert, args.reason, by=actor(args))
        except (ActionError, AlertNotFoundError) as exc:
            raise UserError(str(exc)) from None
    if args.json:
        print_json(outcome.to_dict())
        return 0
    print(f"{outcome.alert}: retracted (was {outcome.previous_state})")
    print(
        f"  stopped {outcome.cancelled_rows} pending product(s) and "
        f"{len(outcome.superseded_circulars)} Circular draft(s)"
    )
    if outcome.public:
        print(
            f"  retraction notice and VOEvent queued (record {outcome.record_number}, "
            f"citing revision {outcome.cites_revision})"
        )
        print(
            f"  retraction Circular {outcome.circular_id} awaits approval: "
            f"skymist circular approve {outcome.alert} --by NAME"
        )
    else:
        print("  nothing about this alert had been published: no retraction notice")
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "retract",
        help="retract an alert (stops its pending products, queues the retraction notices)",
        description=(
            "Retract an alert: every unsent product is cancelled, Circular drafts are superseded, and if "
            "the alert was public its retraction notice and VOEvent are queued and a retraction Circular "
            "is drafted for approval."
        ),
    )
    parser.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
    parser.add_argument("--reason", required=True, help="why (goes into the Circular: plain ASCII)")
    parser.add_argument("--by", help="who retracts (default: your login name; recorded in the audit)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run_guarded(_retract))
