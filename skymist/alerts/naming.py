"""Public alert names: ``IceCube-YYMMDD`` + A, B, C... in the order alerts are named that UTC day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from skymist.store.models import AlertNameCounter
from skymist.store.upsert import dialect_insert


def letters(index: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA (bijective base 26)."""
    if index < 1:
        raise ValueError(f"name index must be >= 1, got {index}")
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def alert_name(day: dt.date, index: int, prefix: str = "IceCube") -> str:
    return f"{prefix}-{day:%y%m%d}{letters(index)}"


def allocate_name(session: Session, day: dt.date) -> str:
    """Take the next name of ``day`` atomically (safe with several daemons on one PostgreSQL)."""
    upsert = dialect_insert(session, AlertNameCounter).values(day=day, count=1)
    stmt = upsert.on_conflict_do_update(
        index_elements=[AlertNameCounter.day], set_={"count": AlertNameCounter.count + 1}
    ).returning(AlertNameCounter.count)
    index = session.execute(stmt).scalar_one()
    return alert_name(day, index)
