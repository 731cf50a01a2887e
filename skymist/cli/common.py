"""Helpers shared by the CLI command groups."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from skybase.logs import configure_logging
from skybase.settings import SettingsFileError
from skymist.app import App, SchemaNotCurrentError
from skymist.archive.hooks import flush_records
from skymist.config import Settings, load_settings
from skymist.outbox.sinks.factory import SettingsError
from skymist.runtime.assembly import build_app
from skymist.states import IllegalTransitionError
from skymist.store.models import Alert

log = logging.getLogger(__name__)

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


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    values = {
        "database_url": getattr(args, "database_url", None),
        "log_level": getattr(args, "log_level", None),
    }
    values.update(overrides)
    settings = load_settings(getattr(args, "config", None), **values)
    configure_logging("skymist", settings.log_level, repeat_interval_s=settings.log_repeat_interval_s)
    return settings


@contextmanager
def opened_app(args: argparse.Namespace, *, check_schema: bool = True, **overrides: Any) -> Iterator[App]:
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
    """Wrap a handler so user errors print one clear line and exit 2."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            result: int = handler(args)
            return result
        except (UserError, SchemaNotCurrentError, SettingsError, SettingsFileError, FileNotFoundError) as exc:
            return _one_line(str(exc), 2)
        except IllegalTransitionError as exc:
            return _one_line(f"not allowed now: {exc}", 2)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in first["loc"])
            secret = field in _SECRET_SETTINGS
            shown = "" if first["type"] == "missing" or secret else f" (got {first.get('input')!r})"
            message = first["msg"].removeprefix("Value error, ")
            return _one_line(f"setting {field}: {message}{shown}", 2)
        except ArgumentError as exc:
            return _one_line(f"setting database_url: {exc}", 2)
        except OperationalError as exc:
            # the driver's message names host and port, never the password
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            return _one_line(f"cannot use the store: {reason} (is PostgreSQL up? check database_url)", 3)
        except KeyboardInterrupt:
            return _one_line("interrupted", 130)
        except Exception as exc:  # a bug: one line for the operator, the traceback in the DEBUG log
            log.debug("command failed", exc_info=True)
            head = (str(exc).strip().splitlines() or [""])[0][:300]
            return _one_line(
                f"unexpected {type(exc).__name__}: {head} (run with --log-level DEBUG for the traceback)", 1
            )

    return wrapped


#: settings whose value is never printed, not even in an error
_SECRET_SETTINGS = frozenset(
    name for name, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)
)


def _one_line(message: str, code: int) -> int:
    print(f"skymist: error: {' '.join(message.split())}", file=sys.stderr)
    return code
