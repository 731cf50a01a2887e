"""``skymist alerts list|show``."""

from __future__ import annotations

import argparse
from typing import Any

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
from skymist.states import AlertState


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.alerts.views import alert_view
    from skymist.store.models import Alert

    with opened_app(args) as app, app.sessions() as session:
        stmt = select(Alert).order_by(Alert.event_time.desc(), Alert.id.desc()).limit(args.limit)
        if args.state:
            stmt = stmt.where(Alert.state == AlertState(args.state))
        alerts = [alert_view(session, alert) for alert in session.execute(stmt).scalars()]
    if args.json:
        print_json({"count": len(alerts), "alerts": alerts})
        return 0
    header = (
        "NAME",
        "RUN_EVENT",
        "STREAM",
        "STATE",
        "EVENT TIME (UTC)",
        "REV",
        "RA",
        "DEC",
        "LATER REVISIONS",
    )
    print("{:<17} {:<18} {:<12} {:<17} {:<27} {:>3} {:>8} {:>8}  {}".format(*header))
    for a in alerts:
        rev, later = _shown_revision(a)
        print(
            f"{a['name'] or '-':<17} {str(a['run_id']) + '_' + str(a['event_id']):<18} {a['stream']:<12} "
            f"{a['state']:<17} {a['event_time'][:26]:<27} {_rev_label(a, rev):>3} "
            f"{rev.get('ra_deg', float('nan')):8.3f} {rev.get('dec_deg', float('nan')):+8.3f}  {later}"
        )
    print(
        f"{len(alerts)} alert(s); RA/Dec (J2000 deg) of the newest published revision (REV); REV 0* is "
        "Rev 0, not published (an unclassified event, or its notice not sent yet)"
    )
    return 0


def _shown_revision(alert: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The revision whose position the list shows: the newest published one, else Rev 0 (never a
    held or unsent later revision: an approximation waiting for approval is not the alert's position);
    and a note on the later, unpublished revisions (e.g. ``1 held``)."""
    revisions: list[dict[str, Any]] = alert["revisions"]
    if not revisions:
        return {}, ""
    published = alert["published_revision"]
    shown = next((r for r in revisions if r["revision"] == published), revisions[0])
    later = ", ".join(
        f"{r['revision']} {r['status']}" for r in revisions if r["revision"] > shown["revision"]
    )
    return shown, later


def _rev_label(alert: dict[str, Any], rev: dict[str, Any]) -> str:
    if not rev:
        return "-"
    return str(rev["revision"]) + ("" if alert["published_revision"] == rev["revision"] else "*")


def _show(args: argparse.Namespace) -> int:
    from skymist.alerts.views import alert_view

    with opened_app(args) as app, app.sessions() as session:
        view = alert_view(session, resolve_alert(session, args.alert), detail=True)
    if args.json:
        print_json(view)
        return 0
    name = view["name"] or "(unnamed)"
    print(f"{name}  run {view['run_id']} event {view['event_id']}  {view['stream']}  {view['state']}")
    print(f"event time {view['event_time']}  source {view['source']}")
    for rev in view["revisions"]:
        print(
            f"  rev {rev['revision']} ({rev['status']}): "
            f"RA {rev['ra_deg']:.4f} Dec {rev['dec_deg']:+.4f} deg (J2000)  "
            f"err50 {rev['err50_deg']} err90 {rev['err90_deg']} deg  signalness {rev['signalness']}  "
            f"FAR {rev['far_per_year']} /yr  energy {rev['energy_tev']} TeV"
        )
    for row in view["outbox_rows"]:
        error = row["last_error"] or ""
        state = row["state"]
        print(f"  outbox {row['id']}: {row['product']:<16} {state:<10} attempts {row['attempts']}  {error}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from skymist.alerts.release import release_revision
    from skymist.circulars.errors import ActionError, AlertNotFoundError

    with opened_app(args) as app:
        try:
            outcome = release_revision(app, args.alert, by=actor(args), reason=args.reason)
        except (ActionError, AlertNotFoundError) as exc:
            raise UserError(str(exc)) from None
    print(
        f"{outcome.alert}: Rev {outcome.revision} released by {outcome.by} "
        f"({outcome.released} notice(s) now due; audited)"
    )
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "alerts", help="list and inspect alerts", description="List and inspect recorded alerts."
    )
    alerts = parser.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    lister = alerts.add_parser("list", help="newest alerts first")
    lister.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lister.add_argument("--limit", type=limit, default=100, help="at most this many (default 100)")
    lister.add_argument("--state", choices=[s.value for s in AlertState], help="only alerts in this state")
    lister.set_defaults(handler=run_guarded(_list))
    show = alerts.add_parser("show", help="one alert with its revisions and products")
    show.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
    show.add_argument("--json", action="store_true", help="one JSON document on stdout")
    show.set_defaults(handler=run_guarded(_show))
    release = alerts.add_parser(
        "release",
        help="send a held refined revision now, before the Circular's approval (never an approximation's)",
    )
    release.add_argument("alert", help="public name (IceCube-220524A), RUNID_EVENTID or id")
    release.add_argument("--reason", required=True, help="why (recorded in the audit log)")
    release.add_argument("--by", help="who (default: your login name; recorded in the audit)")
    release.set_defaults(handler=run_guarded(_release))
