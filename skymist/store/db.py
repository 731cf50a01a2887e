"""Engine and session factory, and schema upgrades through Alembic."""

from __future__ import annotations

from importlib import resources
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker


def safe_url(url: str | URL) -> str:
    """The URL with any password masked, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for PostgreSQL (psycopg 3) or a SQLite file (demo only)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"database_url: backend {parsed.get_backend_name()!r} is not supported "
            "(use postgresql+psycopg://... or sqlite:///file for the demo)"
        )
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # pre-ping: a pooled connection the database dropped (restarted, failed over, backends ended) is
    # found when it is checked out and replaced, instead of failing the first transaction after the
    # store comes back (and sending its loop into a backoff); one loopback round trip per checkout
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 3600)
    return create_engine(parsed, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def one_snapshot(session: Session) -> None:
    """Make the session's transaction read one snapshot of the database (PostgreSQL's repeatable read).

    Call it before the transaction's first statement. A page built from several queries then shows
    one moment: under the default read committed, each query sees the commits made before it, and a
    row counted in one table can be missing from the next (a Circular ``submitted`` beside its outbox
    row still ``sending``). SQLite transactions already read one snapshot.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    script_location = str(resources.files("skymist_migrations"))
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema's revision (several, comma-separated, while migration branches are unmerged)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = sorted(MigrationContext.configure(conn).get_current_heads())
        return ",".join(heads) or None


def code_revision(engine: Engine) -> str:
    """The newest revision(s) this code has migrations for."""
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory.from_config(alembic_config(engine)).get_heads()))
