"""``skymist status``: one screen for a shifter: the daemon, lag, backlog, recent alerts, scans in
flight, Circulars awaiting approval. The synthetic heartbeat alerts (run ``heartbeat_run_id``, one
every ``heartbeat_interval_s``) are counted but not listed unless ``--heartbeats``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING

from skybase.json_types import JSONObject
from skymist.cli.common import SubParsers, opened_app, print_json, run_guarded
from skymist.states import CircularState, OutboxState

if TYPE_CHECKING:
    from skymist.app import App


def _daemon(url: str) -> JSONObject:
    import urllib.request  # here: it loads http and email, which `skymist --help` has no need of

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/healthz", timeout=2) as response:
            about: JSONObject = json.loads(response.read())
            return {"reachable": True, **about}
    except (OSError, ValueError) as exc:
        return {"reachable": False, "error": str(exc)[:200]}


def _status(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        lag = _lag(app)
        stored = _from_store(app, heartbeats_listed=bool(args.heartbeats))
    document: JSONObject = {
        "daemon": _daemon(args.metrics_url),
        "consumer_lag": lag,
        **stored,
    }
    if args.json:
        print_json(document)
        return 0
    _print_status(args, document)
    return 0


def _lag(app: App) -> dict[str, int] | str:
    """The consumer lag per ``topic[partition]``, or why the broker could not tell it."""
    from skymist.runtime.checks import Probe, broker_lag

    probe = Probe(app)
    try:
        return {f"{t}[{p}]": n for (t, p), n in broker_lag(probe, app.settings.kafka_topics).items()}
    except Exception as exc:
        return f"broker unreachable: {str(exc)[:120]}"
    finally:
        probe.close()


def _from_store(app: App, *, heartbeats_listed: bool) -> JSONObject:
    """The outbox backlog, the last 24 h of alerts, scans in flight and Circulars awaiting approval."""
    from sqlalchemy import func, select

    from skymist.scans.tracker import ACTIVE
    from skymist.store.models import Alert, OutboxRow
    from skymist.store.product_models import Circular
    from skymist.store.scan_models import Scan
    from skymist.store.types import utcnow

    now = utcnow()
    with app.sessions() as session:
        backlog = {
            state.value: count
            for state, count in session.execute(
                select(OutboxRow.state, func.count())
                .where(OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING, OutboxState.DEAD)))
                .group_by(OutboxRow.state)
            )
        }
        recent = Alert.created_at >= now - dt.timedelta(hours=24)
        heartbeat = Alert.run_id == app.settings.heartbeat_run_id
        alerts = [
            {"name": a.name or f"{a.run_id}_{a.event_id}", "stream": a.stream, "state": a.state.value,
             "event_time": a.event_time.isoformat()}
            for a in session.execute(
                select(Alert)
                .where(recent, *(() if heartbeats_listed else (~heartbeat,)))
                .order_by(Alert.event_time.desc())
            ).scalars()
        ]  # fmt: skip
        heartbeats = session.execute(
            select(func.count()).select_from(Alert).where(recent, heartbeat)
        ).scalar_one()
        scans = [
            {"id": s.id, "alert_id": s.alert_id, "plan": s.plan_entry, "state": s.state.value,
             "progress_percent": s.progress_percent, "backend_state": s.backend_state}
            for s in session.execute(
                select(Scan).where(Scan.state.in_(ACTIVE)).order_by(Scan.id)
            ).scalars()
        ]  # fmt: skip
        circulars = [
            {"id": c.id, "alert_id": c.alert_id, "kind": c.kind, "subject": c.subject}
            for c in session.execute(
                select(Circular)
                .where(Circular.state == CircularState.AWAITING_APPROVAL)
                .order_by(Circular.id)
            ).scalars()
        ]
    return {
        "outbox_backlog": backlog,
        "alerts_24h": alerts,
        "heartbeats_24h": heartbeats,
        "heartbeats_listed": heartbeats_listed,
        "scans_in_flight": scans,
        "circulars_awaiting_approval": circulars,
    }


def _print_status(args: argparse.Namespace, document: JSONObject) -> None:
    daemon: JSONObject = document["daemon"]
    lag = document["consumer_lag"]
    alerts, heartbeats = document["alerts_24h"], document["heartbeats_24h"]
    if daemon["reachable"]:
        print(f"daemon   pid {daemon.get('pid')} jobs {', '.join(daemon.get('jobs', []))}")
    else:
        print(f"daemon   not answering on {args.metrics_url} ({daemon['error']})")
    print(
        f"lag      {lag if isinstance(lag, str) else (', '.join(f'{k} {v}' for k, v in lag.items()) or '0')}"
    )
    backlog = ", ".join(f"{k} {v}" for k, v in document["outbox_backlog"].items())
    print(f"outbox   {backlog or 'nothing waiting'}")
    if args.heartbeats:
        print(f"alerts (24 h): {len(alerts)}, heartbeats included ({heartbeats})")
    else:
        hidden = (
            f" (and {heartbeats} heartbeat(s), not listed: --heartbeats lists them)" if heartbeats else ""
        )
        print(f"alerts (24 h): {len(alerts)}{hidden}")
    for a in alerts:
        print(f"  {a['name']:<24} {a['stream']:<13} {a['state']:<18} {a['event_time'][:19]}")
    scans = document["scans_in_flight"]
    print(f"scans in flight: {len(scans)}")
    for s in scans:
        pct = f"{s['progress_percent']:.0f}%" if s["progress_percent"] is not None else "-"
        print(f"  scan {s['id']:<5} alert {s['alert_id']:<6} {s['plan']:<16} {s['state']:<10} {pct}")
    circulars = document["circulars_awaiting_approval"]
    print(f"Circulars awaiting approval: {len(circulars)}")
    for c in circulars:
        print(f"  circular {c['id']} (alert {c['alert_id']}, {c['kind']}): {c['subject']}")


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "status",
        help="one screen: daemon, lag, backlog, alerts, scans, Circulars",
        description="One screen for a shifter: the daemon, consumer lag, outbox backlog, the last 24 h "
        "of alerts (heartbeats counted, listed only with --heartbeats), scans in flight, Circulars "
        "awaiting approval.",
    )
    parser.add_argument(
        "--metrics-url", default="http://127.0.0.1:9465", help="the daemon's HTTP port (default %(default)s)"
    )
    parser.add_argument(
        "--heartbeats", action="store_true", help="list the synthetic heartbeat alerts too (counted always)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run_guarded(_status))
