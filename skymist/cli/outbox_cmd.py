"""``skymist outbox list|retry``."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from skymist.cli.common import SubParsers, UserError, opened_app, print_json, run_guarded
from skymist.states import OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow
from skymist.views import outbox_view


def _list(args: argparse.Namespace) -> int:
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
    if not args.ids and not args.all_dead:
        raise UserError("name outbox row ids or give --all-dead")
    with opened_app(args) as app, app.sessions() as session, session.begin():
        stmt = select(OutboxRow).with_for_update()
        stmt = (
            stmt.where(OutboxRow.id.in_(args.ids))
            if args.ids
            else stmt.where(OutboxRow.state == OutboxState.DEAD)
        )
        rows = list(session.execute(stmt).scalars())
        missing = set(args.ids) - {row.id for row in rows}
        if missing:
            raise UserError(f"no outbox row with id {', '.join(map(str, sorted(missing)))}")
        for row in rows:
            if row.state != OutboxState.DEAD:
                raise UserError(
                    f"outbox row {row.id} is {row.state.value}; only dead rows are retried by hand"
                )
            row.state = check_transition(row.state, OutboxState.PENDING)
            row.attempts, row.next_attempt_at, row.last_error = 0, utcnow(), None
    print(f"{len(rows)} row(s) queued again; a running daemon sends them")
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
    lister.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    lister.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lister.set_defaults(handler=run_guarded(_list))
    retry = outbox.add_parser("retry", help="send dead rows again (after fixing the sink)")
    retry.add_argument("ids", nargs="*", type=int, help="outbox row ids")
    retry.add_argument("--all-dead", action="store_true", help="every dead row")
    retry.set_defaults(handler=run_guarded(_retry))
