"""``skymist scans list|show|rescan|abort``."""

from __future__ import annotations

import argparse

from skymist.cli.common import SubParsers, UserError, actor, limit, opened_app, print_json, run_guarded
from skymist.states import ScanState


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.alerts.views import scan_view
    from skymist.store.models import Alert
    from skymist.store.scan_models import Scan

    with opened_app(args) as app, app.sessions() as session:
        stmt = (
            select(Scan, Alert.name)
            .join(Alert, Alert.id == Scan.alert_id)
            .order_by(Scan.id.desc())
            .limit(args.limit)
        )
        if args.state:
            stmt = stmt.where(Scan.state == ScanState(args.state))
        scans = [scan_view(scan, name) for scan, name in session.execute(stmt).all()]
    if args.json:
        print_json({"count": len(scans), "scans": scans})
        return 0
    print(f"{'ID':>5} {'ALERT':<17} {'PLAN':<16} {'STATE':<10} {'DONE':>6} {'BACKEND SCAN':<34} LAST ERROR")
    for s in scans:
        done = f"{s['progress_percent']:.0f}%" if s["progress_percent"] is not None else "-"
        print(
            f"{s['id']:>5} {s['alert'] or s['alert_id']!s:<17} {s['plan_entry']:<16} {s['state']:<10} "
            f"{done:>6} "
            f"{s['backend_scan_id'] or '-':<34} {s['last_error'] or ''}"
        )
    print(f"{len(scans)} scan(s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.alerts.views import scan_view
    from skymist.store.models import Alert
    from skymist.store.scan_models import Scan, ScanProgress

    with opened_app(args) as app, app.sessions() as session:
        row = session.execute(
            select(Scan, Alert.name).join(Alert, Alert.id == Scan.alert_id).where(Scan.id == args.scan)
        ).first()
        if row is None:
            raise UserError(f"no scan with id {args.scan}")
        view = scan_view(row[0], row[1])
        snapshots = session.execute(
            select(ScanProgress).where(ScanProgress.scan_id == args.scan).order_by(ScanProgress.id)
        ).scalars()
        view["progress"] = [
            {
                "at": p.at.isoformat(),
                "backend_scan_id": p.backend_scan_id,
                "backend_state": p.backend_state,
                "percent": p.percent,
                "pixels_done": p.pixels_done,
                "pixels_total": p.pixels_total,
                "predicted_end": p.predicted_end.isoformat() if p.predicted_end else None,
                "summary": p.summary,
            }
            for p in snapshots
        ]
    if args.json:
        print_json(view)
        return 0
    for key, value in view.items():
        if key != "progress":
            print(f"{key}: {value}")
    for p in view["progress"]:
        print(f"  {p['at'][:19]} {p['backend_state']:<40} {p['percent'] or 0:5.1f}%  {p['summary'] or ''}")
    return 0


def _rescan(args: argparse.Namespace) -> int:
    from skymist.scans.actions import ScanActionError, check_scan_allowed, rescan
    from skymist.scans.backend import make_scanner_client
    from skymist.store.scan_models import Scan

    with opened_app(args) as app:
        with app.sessions() as session:
            row = session.get(Scan, args.scan)
            if row is None:
                raise UserError(f"no scan with id {args.scan} (see `skymist scans list`)")
            alert_id = row.alert_id
        try:
            check_scan_allowed(app, alert_id, args.yes)
        except ScanActionError as exc:
            raise UserError(str(exc)) from None
        client = make_scanner_client(app.settings)
        try:
            scan = rescan(app, client, args.scan, by=actor(args), reason=args.reason)
        except ScanActionError as exc:
            raise UserError(str(exc)) from None
        finally:
            client.close()
    print(
        f"scan {scan.id}: {scan.state.value}"
        + (f", backend scan {scan.backend_scan_id}" if scan.backend_scan_id else "")
    )
    return 0


def _abort(args: argparse.Namespace) -> int:
    from skymist.scans.actions import ScanActionError, abort
    from skymist.scans.backend import make_scanner_client

    with opened_app(args) as app:
        client = make_scanner_client(app.settings)
        try:
            scan = abort(app, client, args.scan, f"{args.reason} (by {actor(args)})")
        except ScanActionError as exc:
            raise UserError(str(exc)) from None
        finally:
            client.close()
    print(f"scan {scan.id}: {scan.state.value}")
    return 0


def _localize(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.runtime.lifecycle import localize_consumer
    from skymist.scans.handoff import FinalScan, Handoff
    from skymist.store.scan_models import Scan

    with opened_app(args) as app:
        with app.sessions() as session, session.begin():
            scan = session.get(Scan, args.scan, with_for_update=True)
            if scan is None:
                raise UserError(f"no scan with id {args.scan}")
            if scan.state != ScanState.FINAL or scan.backend_scan_id is None:
                raise UserError(
                    f"scan {args.scan} is {scan.state.value}: only a final result goes to the skymap step"
                )
            scan.handoff_attempts, scan.handoff_error = 0, None
            final = FinalScan(scan.id, scan.alert_id, scan.revision, scan.plan_entry, scan.backend_scan_id)
        ok = Handoff(app, [localize_consumer()]).hand_over(final)
        with app.sessions() as session:
            error = session.execute(select(Scan.handoff_error).where(Scan.id == args.scan)).scalar_one()
    print(f"scan {args.scan}: skymap step " + ("done" if ok else f"failed again: {error}"))
    return 0 if ok else 1


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "scans",
        help="sky-scan reconstructions: list, inspect, rescan, abort",
        description="Every alert's planned scans, as the daemon drives them on the scanner backend.",
    )
    scans = parser.add_subparsers(dest="scans_command", metavar="ACTION", required=True)
    lister = scans.add_parser("list", help="newest scans first, with state, backend id and progress")
    lister.add_argument("--state", choices=[s.value for s in ScanState], help="only scans in this state")
    lister.add_argument("--limit", type=limit, default=100, help="at most this many (default 100)")
    lister.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lister.set_defaults(handler=run_guarded(_list))
    show = scans.add_parser("show", help="one scan with every progress snapshot")
    show.add_argument("scan", type=int, help="scan id (see `skymist scans list`)")
    show.add_argument("--json", action="store_true", help="one JSON document on stdout")
    show.set_defaults(handler=run_guarded(_show))
    again = scans.add_parser("rescan", help="run a scan again (replaces a running one on the backend)")
    again.add_argument("scan", type=int)
    again.add_argument(
        "--yes", action="store_true", help="go ahead although the result would publish a new public revision"
    )
    again.add_argument("--by", help="who (default: your user name; recorded in the audit log)")
    again.add_argument("--reason", help="why (recorded in the audit log)")
    again.set_defaults(handler=run_guarded(_rescan))
    stop = scans.add_parser("abort", help="abort a scan (on the backend too)")
    stop.add_argument("scan", type=int)
    stop.add_argument("--reason", required=True, help="why (kept with the scan)")
    stop.add_argument("--by", help="who (default: your user name)")
    stop.set_defaults(handler=run_guarded(_abort))
    again_skymap = scans.add_parser(
        "localize", help="run the skymap step on a final result again (after a fix)"
    )
    again_skymap.add_argument("scan", type=int)
    again_skymap.set_defaults(handler=run_guarded(_localize))
