"""Migration 0009 builds exactly the console's tables (skymist.store.console_models) on PostgreSQL,
and upgrades and downgrades on SQLite (the demo's store)."""

from __future__ import annotations

from pathlib import Path

from skymist.store import console_models
from skymist.store.models import Base
from tests.support.migrations import down_and_up_on_sqlite, model_differences

MINE = {"console_sessions", "console_login_throttle", "console_password_hashes"}


def test_migration_matches_the_console_models_on_postgresql(database_url: str) -> None:
    assert console_models.ConsoleSession.__tablename__ in Base.metadata.tables
    assert model_differences(database_url, MINE) == []


def test_migration_upgrades_and_downgrades_on_sqlite(tmp_path: Path) -> None:
    columns = down_and_up_on_sqlite(tmp_path, "0009_console_sessions", "0008_heartbeat_rows_read", MINE)
    assert {"token_hash", "user_name", "csrf", "expires_at", "last_seen_at", "checked_at"} <= columns[
        "console_sessions"
    ]
