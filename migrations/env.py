"""Alembic environment: runs migrations on the engine SkyMist hands over (or the configured URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from skymist.store import (  # noqa: F401 - register their tables
    console_models,
    ops_models,
    product_models,
    scan_models,
    trouble_models,
)
from skymist.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations()
