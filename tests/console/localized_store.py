"""IceCube-220524A localized from its real scan once per test run (per worker), copied for each test.

Localizing the real scan (drawing the skymap's picture above all) costs seconds of CPU; the console
tests only need its outcome. So the alert is recorded and localized once, with the console tests'
settings, into a database copied from the migrated template and a data folder of its own; the app is
closed and its engine disposed, so nothing stays connected (PostgreSQL copies a template only while
no session is open on it). Each test then gets its own database, ``CREATE DATABASE ... TEMPLATE``
of that one, its own copy of the data folder, and an app on both with the same settings.

What the localized state holds that is not the copy's own is made the copy's own:

* the skymap files' absolute paths (``localizations.*_path``: under ``data_dir``) are rewritten to
  the test's copy of the folder (every text column that held the template's folder, found once);
* the times the clock stamped while localizing (``created_at``, ``next_attempt_at``, ...: every
  timestamp between the start and the end of the localization, found once) are moved forward by the
  template's age, so the copy is as fresh as a localization made when the test starts (the outbox's
  "late" badge, "pending for"). The alert's event time (2022) and the held-for-approval time
  (:data:`~skymist.outbox.queue.HELD_UNTIL`) lie outside that span and stay. The products' bytes
  are exact and stay as written: the times inside them are the template's;
* the outbox rows' Kafka destinations (and the trouble rows naming them) are the template's topics:
  each test's app uses the same topic names (nothing in these tests sends to Kafka). The Kafka mock's
  address, the Slack webhook, the session secret and the console users are settings, not stored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from skymist.alerts.refined import localize_alert
from skymist.app import App
from skymist.console.passwords import hash_password
from skymist.runtime.assembly import build_app
from tests.conftest import PG_BASE, MockKafka, fresh_database, libpq_url, make_settings
from tests.refine.support import mark_localization_pending, record_alert

PASSWORDS = {"alice": "alice-Pw-7731", "oscar": "oscar-Pw-1209"}
BASE = "https://roc.example.org/skymist"
SCAN_REF = "scan:1:18c9d5e4f0ax00000000000000000001"

#: a database column: (table, column)
Column = tuple[str, str]


@dataclass(frozen=True)
class LocalizedTemplate:
    """The localized database (a template: nothing connects to it) and the data folder it wrote."""

    database: str
    data_dir: Path
    alert_id: int
    #: the settings it was localized with, less the database and data folder (each copy has its own)
    settings: dict[str, Any]
    #: the span the clock stamped while localizing, and the columns holding such a time
    stamped_from: dt.datetime
    stamped_to: dt.datetime
    clock_columns: tuple[Column, ...]
    #: the text columns naming the data folder (the skymap files' paths)
    path_columns: tuple[Column, ...]


def console_settings() -> dict[str, Any]:
    """The console tests' settings: Slack by webhook, Rev 1 held for approval, two local users."""
    users = [
        {"name": "alice", "role": "shifter", "password_hash": hash_password(PASSWORDS["alice"])},
        {"name": "oscar", "role": "observer", "password_hash": hash_password(PASSWORDS["oscar"])},
    ]
    return {
        "slack_mode": "webhook",
        "slack_webhook_url": "http://127.0.0.1:9/hook",
        "rev1_requires_approval": True,
        "console_users": users,
        "console_base_url": BASE,
        "console_session_secret": "k" * 40,
    }


def _columns(conn: psycopg.Connection[Any], types: tuple[str, ...]) -> list[Column]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = ANY(%s) ORDER BY table_name, column_name",
        (list(types),),
    ).fetchall()
    return [(str(table), str(column)) for table, column in rows]


def _holding(
    conn: psycopg.Connection[Any], columns: list[Column], where: str, *args: object
) -> tuple[Column, ...]:
    """The columns with at least one value matching ``where`` (``{}`` is the column)."""
    found = []
    for table, column in columns:
        test = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE " + where + ")").format(
            sql.Identifier(table), sql.Identifier(column)
        )
        if conn.execute(test, args).fetchone() == (True,):
            found.append((table, column))
    return tuple(found)


def build_template(
    database: str, kafka: MockKafka, shared_dir: Path, data_dir: Path, scan_json: bytes
) -> LocalizedTemplate:
    """Record IceCube-220524A in ``database`` and localize it from ``scan_json``; close everything."""
    given = console_settings()
    settings = make_settings(f"{PG_BASE}/{database}", kafka, data_dir=data_dir, **given)
    started = dt.datetime.now(dt.UTC)
    app = build_app(settings)
    try:
        alert_id = record_alert(app, shared_dir)
        mark_localization_pending(app, alert_id)
        localize_alert(app, alert_id, scan_json, scan_ref=SCAN_REF)
    finally:
        app.close()
    finished = dt.datetime.now(dt.UTC)
    with psycopg.connect(libpq_url(f"{PG_BASE}/{database}")) as conn:
        stamped = _holding(
            conn, _columns(conn, ("timestamp with time zone",)), "{} BETWEEN %s AND %s", started, finished
        )
        folder = f"{data_dir}/"
        paths = _holding(conn, _columns(conn, ("character varying", "text")), "strpos({}, %s) > 0", folder)
    assert ("localizations", "png_path") in paths, paths  # else the copies would share the template's files
    topics = {"notice_topic": settings.notice_topic, "voevent_topic": settings.voevent_topic}
    return LocalizedTemplate(
        database=database,
        data_dir=data_dir,
        alert_id=alert_id,
        settings={**given, **topics},
        stamped_from=started,
        stamped_to=finished,
        clock_columns=stamped,
        path_columns=paths,
    )


def _make_own(url: str, template: LocalizedTemplate, data_dir: Path) -> None:
    """Point the copy's paths at its own data folder; move the clock's stamps to now."""
    age = dt.datetime.now(dt.UTC) - template.stamped_to
    old, new = f"{template.data_dir}/", f"{data_dir}/"
    with psycopg.connect(libpq_url(url)) as conn:
        for table, column in template.path_columns:
            conn.execute(
                sql.SQL("UPDATE {t} SET {c} = replace({c}, %s, %s) WHERE strpos({c}, %s) > 0").format(
                    t=sql.Identifier(table), c=sql.Identifier(column)
                ),
                (old, new, old),
            )
        for table, column in template.clock_columns:
            conn.execute(
                sql.SQL("UPDATE {t} SET {c} = {c} + %s WHERE {c} BETWEEN %s AND %s").format(
                    t=sql.Identifier(table), c=sql.Identifier(column)
                ),
                (age, template.stamped_from, template.stamped_to),
            )


@contextlib.contextmanager
def localized_copy(
    template: LocalizedTemplate, kafka: MockKafka, data_dir: Path, **overrides: Any
) -> Iterator[tuple[App, int]]:
    """A database and data folder of their own, copied from ``template``, and an app on them."""
    shutil.copytree(template.data_dir, data_dir, dirs_exist_ok=True)
    with fresh_database("skymist_t", template=template.database) as url:
        _make_own(url, template, data_dir)
        app = build_app(make_settings(url, kafka, data_dir=data_dir, **{**template.settings, **overrides}))
        try:
            yield app, template.alert_id
        finally:
            app.close()


@pytest.fixture(scope="session")
def localized_template(
    migrated_template: str,
    kafka: MockKafka,
    shared_dir: Path,
    real_scan_json: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalizedTemplate]:
    """IceCube-220524A localized from its real scan with the console tests' settings, once per worker."""
    data_dir = tmp_path_factory.mktemp("localized-data")
    with fresh_database("skymist_loc", template=migrated_template) as url:
        yield build_template(url.rsplit("/", 1)[1], kafka, shared_dir, data_dir, real_scan_json)
