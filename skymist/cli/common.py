"""Helpers shared by the CLI command groups.

Light at import (the standard library only): the settings, the store and the app are imported by
the functions that use them, so that building the parser (``skymist --help``) loads none of them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.orm import Session

    from skybase.logs import LogFormat
    from skymist.app import App
    from skymist.config import Settings
    from skymist.store.models import Alert

log = logging.getLogger(__name__)

#: commands that are services (and ``catalogue serve``): their logs are JSON lines unless
#: ``--log-format text``
SERVICE_COMMANDS = frozenset({"run", "console"})

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class UserError(Exception):
    """A mistake in what the user asked for; printed as ``skymist: error: ...`` with exit code 2."""


def limit(text: str) -> int:
    """An argparse type: a row count >= 1 (``--limit``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give a count >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1; give a count >= 1 (e.g. --limit 20)")
    return value


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535 (``--http-port``, ``--port``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number; give a TCP port, 1 to 65535"
        ) from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port; give 1 to 65535")
    return value


def login_name() -> str:
    """Who runs the command: the login name ($LOGNAME/$USER, else the account of the process's uid)."""
    try:
        name = getpass.getuser().strip()
    except (KeyError, OSError):
        name = ""
    if not name:
        raise UserError("cannot tell who you are (no $USER and no account for this uid): give --by NAME")
    return name


def actor(args: argparse.Namespace) -> str:
    """``--by`` if given, else the login name: the name recorded in the audit log."""
    by: str | None = getattr(args, "by", None)
    return by.strip() if by and by.strip() else login_name()


def log_format(args: argparse.Namespace) -> LogFormat:
    """``--log-format``, else ``json`` for the services (``run``, ``console``) and ``text`` for every
    other command: an operator's command writes plain lines, never JSON mixed with its error line."""
    chosen: str | None = getattr(args, "log_format", None)
    if chosen:
        return "json" if chosen == "json" else "text"
    command = getattr(args, "command", None)
    serving = command in SERVICE_COMMANDS or (command, getattr(args, "catalogue_action", None)) == (
        "catalogue",
        "serve",
    )
    return "json" if serving else "text"


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    from skybase.logs import configure_logging
    from skymist.config import load_settings

    values = {
        "database_url": getattr(args, "database_url", None),
        "log_level": getattr(args, "log_level", None),
    }
    values.update(overrides)
    settings = load_settings(getattr(args, "config", None), **values)
    args.loaded_settings = settings  # for the error line of a store or a broker that fails
    configure_logging(
        "skymist",
        settings.log_level,
        repeat_interval_s=settings.log_repeat_interval_s,
        log_format=log_format(args),
    )
    return settings


@contextmanager
def opened_app(args: argparse.Namespace, *, check_schema: bool = True, **overrides: Any) -> Iterator[App]:
    from skymist.archive.hooks import flush_records
    from skymist.runtime.assembly import build_app

    app = build_app(settings_from(args, **overrides))
    try:
        if check_schema:
            app.require_current_schema()
        yield app
    finally:
        flush_records(app.outbox_hooks)  # the archive records of what this command sent
        app.close()


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str, allow_nan=False)
    sys.stdout.write("\n")


def resolve_alert(session: Session, ref: str) -> Alert:
    """An alert by public name (IceCube-220524A), RUNID_EVENTID, or numeric id."""
    from sqlalchemy import select

    from skymist.store.models import Alert

    stmt = select(Alert)
    if "_" in ref and all(part.isdigit() for part in ref.split("_", 1)):
        run, event = ref.split("_", 1)
        stmt = stmt.where(Alert.run_id == int(run), Alert.event_id == int(event))
    elif ref.isdigit():
        stmt = stmt.where(Alert.id == int(ref))
    else:
        stmt = stmt.where(Alert.name == ref)
    alert = session.execute(stmt).scalar_one_or_none()
    if alert is None:
        raise UserError(f"no alert {ref!r} (give a name like IceCube-220524A, RUNID_EVENTID or an id)")
    return alert


def run_guarded(handler: Any) -> Any:
    """Wrap a handler so that a mistake or a failure prints one clear line: what failed and what to
    do (exit 2 for a mistake, 3 for a service that does not answer, 1 for a bug)."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            result: int = handler(args)
            return result
        except KeyboardInterrupt:
            return _one_line("interrupted", 130)
        except Exception as exc:  # one line for the operator; the traceback in the DEBUG log
            log.debug("command failed", exc_info=exc)
            message, code = explain(exc, args)
            return _one_line(message, code)

    return wrapped


def check_settings(args: argparse.Namespace) -> int:
    """Load the settings as the command will (every command, before it runs): 0, or the exit code
    after one line naming the setting, its value and what is allowed."""

    def load(loaded: argparse.Namespace) -> int:
        settings_from(loaded)
        return 0

    code: int = run_guarded(load)(args)
    return code


def explain(exc: Exception, args: argparse.Namespace) -> tuple[str, int]:
    """The one line for a failed command and its exit code. The error classes are looked up among the
    modules already loaded: an exception of a module that was never imported cannot have been raised."""
    if isinstance(exc, UserError | FileNotFoundError) or _is(
        exc,
        ("skybase.settings", "SettingsFileError"),
        ("skybase.settings", "SettingsValueError"),
        ("skymist.app", "SchemaNotCurrentError"),
        ("skymist.outbox.sinks.factory", "SettingsError"),
    ):
        return str(exc), 2
    if _is(exc, ("skybase.states", "IllegalTransitionError")):
        return f"not allowed now: {exc}", 2
    if _is(exc, ("pydantic_core", "ValidationError")):
        return _invalid(exc), 2  # type: ignore[arg-type]
    if _is(exc, ("sqlalchemy.exc", "ArgumentError")):
        return f"setting database_url: {exc}", 2
    if _is(exc, ("sqlalchemy.exc", "OperationalError")):
        return _store_failed(exc, args), 3
    if _is(exc, ("confluent_kafka", "KafkaException")):
        return _broker_failed(exc, args), 3
    head = (str(exc).strip().splitlines() or [""])[0][:300]
    return (
        f"failed: {type(exc).__name__}: {head} (a bug: run again with --log-level DEBUG for the traceback "
        "and report it)",
        1,
    )


def _is(exc: Exception, *where: tuple[str, str]) -> bool:
    for module_name, class_name in where:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def _invalid(exc: ValidationError) -> str:
    from skybase.setting_limits import error_line
    from skymist.config import Settings

    if exc.title == Settings.__name__:
        return error_line(exc, Settings, hidden=NEVER_SHOWN)
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{exc.title} {where}: {first['msg']}"


#: settings whose value is not printed in an error (besides the secrets): they may hold credentials
NEVER_SHOWN = ("kafka_config", "console_users")


def _store_failed(exc: Any, args: argparse.Namespace) -> str:
    """The store did not open: for SQLite, which file and folder; for PostgreSQL, is it up."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    settings: Settings | None = getattr(args, "loaded_settings", None)
    text = settings.database_url.get_secret_value() if settings is not None else ""
    if text.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        file = Path(make_url(text).database or "")
        folder = file.parent
        if not folder.is_dir():
            return (
                f"cannot open the SQLite store {str(file)!r}: its folder {str(folder)!r} does not exist "
                f"(create it, e.g. mkdir -p {folder}, or fix database_url)"
            )
        return f"cannot open the SQLite store {str(file)!r}: {reason} (check the file's permissions)"
    # the driver's message names host and port, never the password
    if "does not exist" in reason:
        return f"cannot use the store: {reason} (create it, then `skymist db upgrade`; or fix database_url)"
    return f"cannot use the store: {reason} (is PostgreSQL up? check database_url)"


def _broker_failed(exc: Exception, args: argparse.Namespace) -> str:
    error = exc.args[0] if exc.args else None
    reason = error.str() if error is not None and hasattr(error, "str") else str(exc)
    settings: Settings | None = getattr(args, "loaded_settings", None)
    brokers = settings.kafka_bootstrap_servers if settings is not None else "kafka_bootstrap_servers"
    return f"Kafka did not answer: {reason} (is Kafka up at {brokers}? check kafka_bootstrap_servers)"


def _one_line(message: str, code: int) -> int:
    print(f"skymist: error: {' '.join(message.split())}", file=sys.stderr)
    return code
