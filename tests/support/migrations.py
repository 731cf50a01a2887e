"""Checks of one migration: the tables it builds match their models on PostgreSQL, and it goes
down and up again on SQLite (the demo's store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from skymist.store.db import alembic_config, make_engine, upgrade
from skymist.store.models import Base


def model_differences(database_url: str, tables: set[str]) -> list[Any]:
    """Alembic's differences between the migrated database's ``tables`` and the models' (none: equal)."""

    def only_these(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name in tables
        table = getattr(obj, "table", None)
        return table is None or table.name in tables

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= tables
            context = MigrationContext.configure(
                conn, opts={"include_object": only_these, "compare_type": True}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def down_and_up_on_sqlite(
    folder: Path, revision: str, previous: str, tables: set[str]
) -> dict[str, set[str]]:
    """Upgrade a new SQLite store to ``revision``, down to ``previous`` (``tables`` gone), up again;
    the columns of each of ``tables`` after that."""
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    try:
        upgrade(engine, revision)
        assert set(inspect(engine).get_table_names()) >= tables
        command.downgrade(alembic_config(engine), previous)
        assert not tables & set(inspect(engine).get_table_names())
        upgrade(engine, revision)
        return {table: {c["name"] for c in inspect(engine).get_columns(table)} for table in tables}
    finally:
        engine.dispose()
