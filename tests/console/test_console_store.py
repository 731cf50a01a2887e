"""Migration 0009 builds exactly the console's tables (skymist.store.console_models) on PostgreSQL,
and upgrades and downgrades on SQLite (the demo's store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from skymist.store import console_models
from skymist.store.db import alembic_config, make_engine, upgrade
from skymist.store.models import Base

MINE = {"console_sessions", "console_login_throttle", "console_password_hashes"}


def _mine(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table":
        return name in MINE
    table = getattr(obj, "table", None)
    return table is None or table.name in MINE


def test_migration_matches_the_console_models_on_postgresql(database_url: str) -> None:
    assert console_models.ConsoleSession.__tablename__ in Base.metadata.tables
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _mine, "compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
            assert set(inspect(conn).get_table_names()) >= MINE
    finally:
        engine.dispose()
    assert diffs == []


def test_migration_upgrades_and_downgrades_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        upgrade(engine, "0009_console_sessions")
        assert set(inspect(engine).get_table_names()) >= MINE
        command.downgrade(alembic_config(engine), "0008_heartbeat_rows_read")
        assert not MINE & set(inspect(engine).get_table_names())
        upgrade(engine, "0009_console_sessions")
        columns = {c["name"] for c in inspect(engine).get_columns("console_sessions")}
        assert {"token_hash", "user_name", "csrf", "expires_at", "last_seen_at", "checked_at"} <= columns
    finally:
        engine.dispose()
