"""Helpers shared by the CLI command groups."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from skymist.app import App, SchemaNotCurrentError, build_app
from skymist.config import Settings, load_settings
from skymist.jsonlog import configure_logging
from skymist.outbox.sinks.factory import SettingsError
from skymist.store.models import Alert

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class UserError(Exception):
    """A mistake in what the user asked for; printed as ``skymist: error: ...`` with exit code 2."""


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    values = {
        "database_url": getattr(args, "database_url", None),
        "log_level": getattr(args, "log_level", None),
    }
    values.update(overrides)
    settings = load_settings(getattr(args, "config", None), **values)
    configure_logging(settings.log_level)
    return settings


@contextmanager
def opened_app(args: argparse.Namespace, *, check_schema: bool = True, **overrides: Any) -> Iterator[App]:
    app = build_app(settings_from(args, **overrides))
    try:
        if check_schema:
            app.require_current_schema()
        yield app
    finally:
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
        except (UserError, SchemaNotCurrentError, SettingsError, FileNotFoundError) as exc:
            print(f"skymist: error: {exc}", file=sys.stderr)
            return 2
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in first["loc"])
            shown = "" if first["type"] == "missing" else f" (got {first.get('input')!r})"
            print(f"skymist: error: setting {field}: {first['msg']}{shown}", file=sys.stderr)
            return 2
        except OperationalError as exc:
            # the driver's message names host and port, never the password
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            print(f"skymist: error: cannot use the store: {reason}", file=sys.stderr)
            return 3

    return wrapped
