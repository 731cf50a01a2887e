"""The record of trouble in one table (``trouble``), filled from the rows that were there before.

Before, trouble was read from five places: open ``dead_letters``, ``outbox`` rows given up or still
tried after an error, ``scans`` failed or whose skymap step gave up (``handoff_error`` after
``handoff_max_attempts``), and the shifters' outbox rows about the archive (``shifters:archive-…``)
and the input stream (``slack_input_stream``); acknowledgements were ``ops_marks`` (``acked:<kind>:<id>``
one by one, ``dead_letters_acked`` up to an id). The upgrade classifies those rows as the reader did
(skymist.trouble_record) and turns the marks into states (the ``acked:`` marks go; the dead letters'
floor stays: ``skymist dead-letter ack`` still moves it). The downgrade writes the ``acked:`` marks
back and drops the table.

The hand-offs given up are those with at least ``handoff_max_attempts`` attempts: the value given to
Alembic as ``config.attributes["handoff_max_attempts"]``, else the setting's default.

Revision ID: 0010_trouble_record
Revises: 0009_console_sessions
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from skymist.config import Settings
from skymist.store.types import UTCDateTime, utcnow
from skymist.trouble_record import COLUMNS, DEAD_LETTERS, OUTBOX, SCANS, Incident, incidents_of

revision: str = "0010_trouble_record"
down_revision: str | None = "0009_console_sessions"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_TIMES = {"created_at", "updated_at", "finished_at"}
_BYTES = {"raw"}

ACKED = "acked:"
DEAD_LETTERS_ACKED = "dead_letters_acked"

TROUBLE = sa.table(
    "trouble",
    sa.column("id", sa.BigInteger()),
    sa.column("kind", sa.String()),
    sa.column("source_table", sa.String()),
    sa.column("source_id", sa.BigInteger()),
    sa.column("alert_id", sa.BigInteger()),
    sa.column("subject", sa.String()),
    sa.column("summary", sa.Text()),
    sa.column("reason", sa.Text()),
    sa.column("raw", sa.LargeBinary()),
    sa.column("state", sa.String()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("acked_by", sa.String()),
    sa.column("ack_reason", sa.Text()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
MARKS = sa.table(
    "ops_marks",
    sa.column("name", sa.String()),
    sa.column("value", sa.BigInteger()),
    sa.column("at", UTCDateTime()),
)


def _source(name: str) -> sa.TableClause:
    def typed(column: str) -> sa.ColumnClause[Any]:
        if column in _TIMES:
            return sa.column(column, UTCDateTime())
        return sa.column(column, sa.LargeBinary()) if column in _BYTES else sa.column(column)

    return sa.table(name, *(typed(c) for c in COLUMNS[name]))


def _handoff_max_attempts() -> int:
    given = context.config.attributes.get("handoff_max_attempts")
    return given if isinstance(given, int) else int(Settings.model_fields["handoff_max_attempts"].default)


def _row(incident: Incident, now: Any) -> dict[str, Any]:
    return {
        "kind": incident.kind.value,
        "source_table": incident.source_table,
        "source_id": incident.source_id,
        "alert_id": incident.alert_id,
        "subject": incident.subject[:300],
        "summary": incident.summary,
        "reason": incident.reason,
        "raw": incident.raw,
        "state": "open",
        "occurred_at": incident.occurred_at,
        "acked_by": None,
        "ack_reason": None,
        "created_at": now,
        "updated_at": now,
    }


def _backfill(conn: sa.Connection) -> None:
    at = utcnow()
    attempts = _handoff_max_attempts()
    wheres: dict[str, Any] = {
        DEAD_LETTERS: sa.column("state") == "open",
        OUTBOX: sa.or_(
            sa.column("state") == "dead",
            sa.and_(sa.column("state").in_(("pending", "sending")), sa.column("last_error").is_not(None)),
            sa.column("idempotency_key").startswith("shifters:archive-"),
            sa.column("product") == "slack_input_stream",
        ),
        SCANS: sa.or_(sa.column("state") == "failed", sa.column("handoff_error").is_not(None)),
    }
    for name, where in wheres.items():
        table = _source(name)
        rows = conn.execute(sa.select(table).where(where).order_by(table.c.id)).all()
        found = [_row(i, at) for row in rows for i in incidents_of(name, row, attempts)]
        if found:
            conn.execute(TROUBLE.insert(), found)
    # acknowledgements: one by one (acked:<kind>:<id>), dead letters up to an id
    for name, value in conn.execute(
        sa.select(MARKS.c.name, MARKS.c.value).where(MARKS.c.name.startswith(ACKED))
    ):
        kind = name.removeprefix(ACKED).split(":")[0]
        conn.execute(
            TROUBLE.update()
            .where(TROUBLE.c.kind == kind, TROUBLE.c.source_id == value, TROUBLE.c.state == "open")
            .values(state="acknowledged")
        )
    conn.execute(MARKS.delete().where(MARKS.c.name.startswith(ACKED)))
    floor = conn.execute(sa.select(MARKS.c.value).where(MARKS.c.name == DEAD_LETTERS_ACKED)).scalar()
    if floor:
        conn.execute(
            TROUBLE.update()
            .where(TROUBLE.c.kind == "dead_letter", TROUBLE.c.source_id <= floor, TROUBLE.c.state == "open")
            .values(state="acknowledged")
        )


def upgrade() -> None:
    op.create_table(
        "trouble",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_table", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", _TS, nullable=True),
        sa.Column("acked_by", sa.String(length=100), nullable=True),
        sa.Column("ack_reason", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trouble")),
        sa.UniqueConstraint("source_table", "source_id", "kind", name="uq_trouble_source_kind"),
    )
    op.create_index("ix_trouble_state_kind", "trouble", ["state", "kind"])
    _backfill(op.get_bind())


def downgrade() -> None:
    conn = op.get_bind()
    acked = conn.execute(
        sa.select(TROUBLE.c.kind, TROUBLE.c.source_id).where(
            TROUBLE.c.state == "acknowledged", TROUBLE.c.kind != "dead_letter"
        )
    ).all()
    if acked:
        at = utcnow()
        conn.execute(
            MARKS.insert(),
            [
                {"name": f"{ACKED}{kind}:{source_id}", "value": source_id, "at": at}
                for kind, source_id in acked
            ],
        )
    op.drop_index("ix_trouble_state_kind", table_name="trouble")
    op.drop_table("trouble")
