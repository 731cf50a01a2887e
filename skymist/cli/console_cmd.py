"""``skymist console [--host H] [--port P]``: the shifters' web console; ``--hash-password`` prints
the hash of a password read from standard input (for ``console_users``)."""

from __future__ import annotations

import argparse
import getpass
import sys

from skymist.cli.common import SubParsers, UserError, opened_app, run_guarded
from skymist.console.passwords import hash_password


def _hash() -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        print(hash_password(password))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return 0


def _console(args: argparse.Namespace) -> int:
    if args.hash_password:
        return _hash()
    from skymist.console.server import ConsoleServer

    with opened_app(args) as app:
        settings = app.settings
        if not settings.console_users and not settings.console_oidc_issuer:
            raise UserError(
                "no one can log in: set console_users (local accounts) or console_oidc_issuer and "
                "console_oidc_client_id"
            )
        server = ConsoleServer(app, args.host, args.port)
        print(f"console on http://{server.host}:{server.port}/ (Ctrl-C stops it)", flush=True)
        server.serve_forever()
        if not server.server.started:
            raise UserError(f"cannot listen on {server.host}:{server.port} (in use? choose --port)")
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "console",
        help="the shifters' web console (alerts, scans, skymaps, approvals) on console_host:console_port",
        description=(
            "Serve the web console: every alert with its revisions, scans and live progress, skymaps, "
            "products and their exact bytes, the Circular drafts and the audit log, and the actions "
            "(approve, edit, reject, release, rescan, retract, retry, cancel) with the CLI's rules. "
            "Logins: console_users (local) or console_oidc_* (OIDC)."
        ),
    )
    parser.add_argument("--host", help="listen address (default: console_host)")
    parser.add_argument("--port", type=int, help="port (default: console_port)")
    parser.add_argument(
        "--hash-password", action="store_true", help="print the hash of a password read from stdin"
    )
    parser.set_defaults(handler=run_guarded(_console))
