"""``skymist db upgrade|current``."""

from __future__ import annotations

import argparse

from skymist.cli.common import SubParsers, opened_app, run_guarded


def _upgrade(args: argparse.Namespace) -> int:
    from skymist.store.db import current_revision, safe_url, upgrade

    with opened_app(args, check_schema=False) as app:
        upgrade(app.engine, args.revision)
        print(f"schema of {safe_url(app.engine.url)} is at revision {current_revision(app.engine)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from skymist.store.db import current_revision

    with opened_app(args, check_schema=False) as app:
        print(current_revision(app.engine) or "none (run `skymist db upgrade`)")
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "db", help="store schema (Alembic migrations)", description="Manage the store's schema."
    )
    db = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db.add_parser("upgrade", help="apply migrations (the only way the schema changes)")
    up.add_argument("revision", nargs="?", default="heads", help="target revision (default: the newest)")
    up.set_defaults(handler=run_guarded(_upgrade))
    db.add_parser("current", help="print the schema revision").set_defaults(handler=run_guarded(_current))
