"""``skymist dead-letter list|show|replay|discard``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


from skymist.cli.common import SubParsers, UserError, actor, limit, opened_app, print_json, run_guarded
from skymist.states import DeadLetterState


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.alerts.views import dead_letter_view
    from skymist.store.models import DeadLetter

    with opened_app(args) as app, app.sessions() as session:
        stmt = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(args.limit)
        if not args.all:
            stmt = stmt.where(DeadLetter.state == DeadLetterState.OPEN)
        letters = [dead_letter_view(letter) for letter in session.execute(stmt).scalars()]
    if args.json:
        print_json({"count": len(letters), "dead_letters": letters})
        return 0
    for d in letters:
        print(f"{d['id']:>6} {d['state']:<9} {d['source']:<40} {d['reason']}")
    print(f"{len(letters)} dead letter(s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from skymist.alerts.views import dead_letter_view
    from skymist.store.models import DeadLetter

    with opened_app(args) as app, app.sessions() as session:
        letter = session.get(DeadLetter, args.id)
        if letter is None:
            raise UserError(f"no dead letter with id {args.id}")
        view = dead_letter_view(letter, raw_preview=args.bytes)
    if args.json:
        print_json(view)
    else:
        for key, value in view.items():
            print(f"{key}: {value}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from skymist.ingest.dead_letters import DeadLetterError, replay_letter
    from skymist.ingest.inbox import Ingestor
    from skymist.store.models import DeadLetter

    if not args.ids and not args.all:
        raise UserError("name dead-letter ids or give --all")
    with opened_app(args) as app:
        ingestor = Ingestor(app)
        with app.sessions() as session:
            stmt = (
                select(DeadLetter.id).where(DeadLetter.state == DeadLetterState.OPEN).order_by(DeadLetter.id)
            )
            if args.ids:
                stmt = stmt.where(DeadLetter.id.in_(args.ids))
                _require_open(session, args.ids, "replayed")
            ids = list(session.execute(stmt).scalars())
        failed = 0
        for letter_id in ids:
            try:
                result = replay_letter(app, ingestor, letter_id)
            except DeadLetterError as exc:
                raise UserError(str(exc)) from None
            failed += result.status == "dead_letter"
            print(f"{letter_id}: {result.status}: {result.summary}")
    print(f"{len(ids) - failed} replayed, {failed} still failing")
    return 1 if failed else 0


def _require_open(session: Session, ids: list[int], verb: str) -> None:
    """Every named dead letter exists and is open, else a UserError naming the first that is not."""
    from skymist.store.models import DeadLetter

    for letter_id in ids:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:
            raise UserError(f"no dead letter with id {letter_id} (see `skymist dead-letter list --all`)")
        if letter.state != DeadLetterState.OPEN:
            raise UserError(
                f"dead letter {letter_id} is already {letter.state.value}; only open ones can be {verb} "
                "(see `skymist dead-letter list`)"
            )


def _discard(args: argparse.Namespace) -> int:
    from skymist.ingest.dead_letters import DeadLetterError, discard_letters

    by = actor(args)
    with opened_app(args) as app, app.sessions() as session, session.begin():
        _require_open(session, args.ids, "discarded")
        try:
            discard_letters(session, args.ids, by=by, reason=args.reason)
        except DeadLetterError as exc:
            raise UserError(str(exc)) from None
    print(f"{len(args.ids)} discarded")
    return 0


def _ack(args: argparse.Namespace) -> int:
    from skymist.trouble import acknowledge_dead_letters

    by = actor(args)
    with opened_app(args) as app, app.sessions() as session, session.begin():
        floor = acknowledge_dead_letters(session, by=by, reason=args.reason)
    print(f"dead letters up to id {floor} acknowledged by {by} (skymist check counts newer ones)")
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "dead-letter",
        help="messages that could not be handled",
        description="Bad input is kept with its raw bytes and the reason; replay it after a fix.",
    )
    dead = parser.add_subparsers(dest="dead_letter_command", metavar="ACTION", required=True)
    lister = dead.add_parser("list", help="open dead letters, newest first")
    lister.add_argument("--all", action="store_true", help="also replayed and discarded ones")
    lister.add_argument("--limit", type=limit, default=100, help="at most this many (default 100)")
    lister.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lister.set_defaults(handler=run_guarded(_list))
    show = dead.add_parser("show", help="one dead letter with the start of its raw bytes")
    show.add_argument("id", type=int)
    show.add_argument("--bytes", type=int, default=400, help="how many raw bytes to show (default 400)")
    show.add_argument("--json", action="store_true", help="one JSON document on stdout")
    show.set_defaults(handler=run_guarded(_show))
    replay = dead.add_parser("replay", help="run dead letters through the pipeline again")
    replay.add_argument("ids", nargs="*", type=int, help="dead-letter ids")
    replay.add_argument("--all", action="store_true", help="every open dead letter")
    replay.set_defaults(handler=run_guarded(_replay))
    ack = dead.add_parser("ack", help="acknowledge the dead letters so far (for `skymist check`)")
    ack.add_argument("--by", help="who (default: your login name)")
    ack.add_argument("--reason", help="why (recorded in the audit log)")
    ack.set_defaults(handler=run_guarded(_ack))
    discard = dead.add_parser("discard", help="close dead letters that will never be replayed")
    discard.add_argument("ids", nargs="+", type=int)
    discard.add_argument("--reason", required=True, help="why (kept with the record)")
    discard.add_argument("--by", help="who (default: your login name; kept with the record)")
    discard.set_defaults(handler=run_guarded(_discard))
