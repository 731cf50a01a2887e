"""Take the store away from one database and give it back, on the machine's own PostgreSQL.

``refuse()`` makes PostgreSQL refuse every new connection to the database (``ALLOW_CONNECTIONS
false``: superusers too, "database ... is not currently accepting connections") and ends every
session open on it (``pg_terminate_backend``), as a store whose connections are exhausted or that
restarts does; ``allow()`` lets connections in again. ``end_sessions()`` alone ends the open sessions
and lets new ones in at once (a quick restart). Other databases of the cluster are not touched.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql


class StoreGate:
    def __init__(self, admin_dsn: str, database: str) -> None:
        self.admin_dsn = admin_dsn
        self.database = database

    def _execute(self, statement: sql.SQL | sql.Composed, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            cursor = conn.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def sessions(self) -> int:
        """Sessions open on the database (other than this gate's own)."""
        rows = self._execute(
            sql.SQL("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"),
            self.database,
        )
        return int(str(rows[0][0]))

    def end_sessions(self, timeout_s: float = 30.0) -> int:
        """End every session open on the database; returns how many were ended."""
        ended = 0
        deadline = time.monotonic() + timeout_s
        while True:
            rows = self._execute(
                sql.SQL(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()"
                ),
                self.database,
            )
            ended += len(rows)
            if self.sessions() == 0 or time.monotonic() > deadline:
                return ended
            time.sleep(0.05)

    def refuse(self) -> None:
        self._execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(self.database))
        )
        self.end_sessions()

    def allow(self) -> None:
        self._execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(self.database))
        )
