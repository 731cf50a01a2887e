"""``skymist console``: the shifters' web console, and the administration of its logins.

``skymist console [--host H] [--port P]`` serves it; ``--hash-password`` prints the argon2 hash of a
password read from standard input (for ``console_users``); ``sessions`` lists the live sessions,
``revoke NAME`` ends every session of a user, ``unlock`` ends a login lockout.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from dataclasses import asdict

from skymist.cli.common import SubParsers, UserError, actor, opened_app, print_json, run_guarded

#: a user name as the console records it (local accounts and OIDC names alike)
_NAME = re.compile(r"[!-~]{1,100}")
_ADDRESS = re.compile(r"[0-9A-Fa-f.:]{2,45}")


def _hash() -> int:
    from skymist.console.passwords import hash_password

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


def _user_name(text: str) -> str:
    if not _NAME.fullmatch(text):
        raise UserError(f"NAME = {text!r}: a login name of 1 to 100 printable characters, no spaces")
    return text


def _sessions(args: argparse.Namespace) -> int:
    from skymist.console.sessions import live
    from skymist.store.types import utcnow

    with opened_app(args) as app:
        rows = live(app.sessions, app.settings, utcnow())
    if args.user:
        rows = [row for row in rows if row.user == _user_name(args.user)]
    if args.json:
        print_json([asdict(row) for row in rows])
        return 0
    if not rows:
        print("no live console session" + (f" of {args.user!r}" if args.user else ""))
    for row in rows:
        when = {k: f"{v:%Y-%m-%d %H:%M:%S}Z" for k, v in asdict(row).items() if k.endswith("_at")}
        print(f"{row.user}  {row.role}  {row.source}  logged in {when['created_at']}  "
              f"last seen {when['last_seen_at']}  ends {when['expires_at']}")  # fmt: skip
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from skymist.console.sessions import revoke_user
    from skymist.store.types import utcnow

    name = _user_name(args.name)
    by = actor(args)
    with opened_app(args) as app:
        ended = revoke_user(app.sessions, name, by=by, reason=args.reason, now=utcnow())
    if ended:
        print(f"{ended} session(s) of {name} ended by {by}: their next request goes to the login page")
    else:
        print(f"no live session of {name!r} to end (names: skymist console sessions)")
    return 0


def _unlock(args: argparse.Namespace) -> int:
    from skymist.console.throttle import account_key, address_key, unlock
    from skymist.store.types import utcnow

    if args.account:
        key = account_key(_user_name(args.account))
    elif not _ADDRESS.fullmatch(args.address):
        raise UserError(f"--address = {args.address!r}: an IPv4 or IPv6 address (e.g. 192.0.2.7)")
    else:
        key = address_key(args.address)
    with opened_app(args) as app:
        was_locked = unlock(app.sessions, key, utcnow())
    print(
        f"{key}: {'lockout ended' if was_locked else 'was not locked out'}; its failed logins are forgotten"
    )
    return 0


_EXAMPLES = """\
examples:
  skymist console                              serve on console_host:console_port
  echo 'a-long-password' | skymist console --hash-password
                                               an argon2id hash for console_users
  skymist console sessions                     who is logged in, since when, until when
  skymist console revoke alice --reason "left the shift crew"
                                               end every session of alice at once
  skymist console unlock --account alice       end a lockout after too many wrong passwords

Sessions live in the store: logout, revoke and the expiry (console_session_max_age_s,
console_session_idle_s) end them everywhere. revoke does not stop a new login: remove a local
account from console_users, an OIDC user at the observatory's issuer (or from the shifter group:
console_session_recheck_s later they are an observer).
"""


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "console",
        help="the shifters' web console (alerts, scans, skymaps, approvals) and its logins",
        description=(
            "Serve the web console: every alert with its revisions, scans and live progress, skymaps, "
            "products and their exact bytes, the Circular drafts and the audit log, and the actions "
            "(approve, edit, reject, release, rescan, retract, retry, cancel) with the CLI's rules. "
            "Logins: console_users (local) or console_oidc_* (OIDC). With an ACTION: administer the "
            "logins instead."
        ),
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="listen address (default: console_host)")
    parser.add_argument("--port", type=int, help="port (default: console_port)")
    parser.add_argument(
        "--hash-password", action="store_true", help="print the argon2 hash of a password read from stdin"
    )
    parser.set_defaults(handler=run_guarded(_console))
    actions = parser.add_subparsers(dest="console_action", metavar="ACTION", required=False)
    lister = actions.add_parser(
        "sessions",
        help="list the live sessions (user, role, login source, times; never a token)",
        description="The console sessions that have not ended, by user.",
    )
    lister.add_argument("--user", help="only this user's")
    lister.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lister.set_defaults(handler=run_guarded(_sessions))
    revoke = actions.add_parser(
        "revoke",
        help="end every session of a user now (audited)",
        description=(
            "End every console session of NAME: the user's next request, in any browser, goes to the "
            "login page. Recorded in the audit log with --by and --reason. It does not stop a new login."
        ),
    )
    revoke.add_argument(
        "name", metavar="NAME", help="the login name (as `skymist console sessions` shows it)"
    )
    revoke.add_argument("--reason", help="why (recorded in the audit log)")
    revoke.add_argument("--by", help="who (default: your login name)")
    revoke.set_defaults(handler=run_guarded(_revoke))
    unlock = actions.add_parser(
        "unlock",
        help="end the login lockout of an account or a client address",
        description=(
            "After console_login_attempts wrong passwords an account is locked out for "
            "console_login_lockout_s (an address after console_login_address_attempts). This ends it "
            "now and forgets the failed logins."
        ),
    )
    which = unlock.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", metavar="NAME", help="the login name")
    which.add_argument("--address", metavar="IP", help="the client address")
    unlock.set_defaults(handler=run_guarded(_unlock))
