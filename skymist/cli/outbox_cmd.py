"""``skymist outbox list|show|cancel|retry``."""

from __future__ import annotations

import argparse
import sys

from skymist.cli.common import SubParsers, UserError, actor, limit, opened_app, print_json, run_guarded
from skymist.states import OutboxState


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.alerts.views import outbox_view
    from skymist.store.models import OutboxRow

    with opened_app(args) as app, app.sessions() as session:
        stmt = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(args.limit)
        if args.state:
            stmt = stmt.where(OutboxRow.state == OutboxState(args.state))
        rows = [outbox_view(row) for row in session.execute(stmt).scalars()]
    if args.json:
        print_json({"count": len(rows), "rows": rows})
        return 0
    for r in rows:
        print(
            f"{r['id']:>6} {r['state']:<10} {r['product']:<18} {r['sink']:<6} attempts {r['attempts']:<2} "
            f"{r['idempotency_key']}  {r['last_error'] or ''}"
        )
    print(f"{len(rows)} row(s)")
    return 0


def _retry(args: argparse.Namespace) -> int:
    from skymist.outbox.manual import OutboxActionError, retry_rows

    with opened_app(args) as app:
        try:
            ids = retry_rows(app.sessions, args.ids, all_dead=args.all_dead)
        except OutboxActionError as exc:
            raise UserError(str(exc)) from None
    print(f"{len(ids)} row(s) queued again; a running daemon sends them")
    return 0


def _show(args: argparse.Namespace) -> int:
    from skymist.alerts.views import outbox_view
    from skymist.store.models import OutboxRow

    with opened_app(args) as app, app.sessions() as session:
        row = session.get(OutboxRow, args.id)
        if row is None:
            raise UserError(f"no outbox row with id {args.id} (see `skymist outbox list`)")
        view = outbox_view(row)
        payload = bytes(row.payload)
    if args.bytes:
        sys.stdout.buffer.write(payload)  # exactly what was (or will be) sent, nothing added
        sys.stdout.buffer.flush()
        return 0
    if args.json:
        print_json({**view, "payload_bytes": len(payload)})
        return 0
    for key, value in view.items():
        print(f"{key}: {value}")
    print(f"payload: {len(payload)} bytes (print them with --bytes)")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from skymist.outbox.manual import OutboxActionError, cancel_rows

    by = actor(args)
    with opened_app(args) as app:
        try:
            ids = cancel_rows(app.sessions, args.ids, by=by, reason=args.reason)
        except OutboxActionError as exc:
            raise UserError(str(exc)) from None
    print(f"{len(ids)} row(s) cancelled by {by}; they will never be sent")
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "outbox",
        help="inspect and retry outgoing products",
        description="Every side effect (notice, VOEvent, Slack message) is an outbox row.",
    )
    outbox = parser.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    lister = outbox.add_parser("list", help="newest rows first")
    lister.add_argument("--state", choices=[s.value for s in OutboxState], help="only rows in this state")
    lister.add_argument("--limit", type=limit, default=100, help="at most this many (default 100)")
    lister.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lister.set_defaults(handler=run_guarded(_list))
    show = outbox.add_parser("show", help="one row; --bytes prints its exact payload")
    show.add_argument("id", type=int)
    show.add_argument("--bytes", action="store_true", help="write the payload bytes as sent to stdout")
    show.add_argument("--json", action="store_true", help="one JSON document on stdout")
    show.set_defaults(handler=run_guarded(_show))
    cancel = outbox.add_parser("cancel", help="never send these pending or dead rows (audited)")
    cancel.add_argument("ids", nargs="+", type=int, help="outbox row ids")
    cancel.add_argument("--reason", required=True, help="why (recorded in the audit log)")
    cancel.add_argument("--by", help="who (default: your login name)")
    cancel.set_defaults(handler=run_guarded(_cancel))
    retry = outbox.add_parser("retry", help="send dead rows again (after fixing the sink)")
    retry.add_argument("ids", nargs="*", type=int, help="outbox row ids")
    retry.add_argument("--all-dead", action="store_true", help="every dead row")
    retry.set_defaults(handler=run_guarded(_retry))
