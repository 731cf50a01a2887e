"""Public alert names: ``IceCube-YYMMDD`` + A, B, C... in the order alerts are named that UTC day.

At the platform layer: the alerts name alerts, the ingest step checks a mirrored name, the Circulars
check a subject, all with this one pattern.

:data:`ALERT_NAME` is the one pattern of such a name: names SkyMist gives match it, and a name that
comes from outside (a mirrored GCN notice) is checked against it (:func:`alert_name_problem`) before
it is used as anything; the Circular subject check uses the same pattern.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from skymist.store.models import AlertNameCounter
from skymist.store.upsert import dialect_insert

#: ``IceCube-YYMMDD`` + capital letters (A..Z, AA..): plain ASCII, nothing else (``re.ASCII``: no
#: other script's digits)
ALERT_NAME = re.compile(r"IceCube-(\d{2})(\d{2})(\d{2})([A-Z]{1,6})", re.ASCII)


def alert_name_problem(name: str) -> str | None:
    """Why ``name`` is not a public alert name ``IceCube-YYMMDDA`` (None: it is one)."""
    match = ALERT_NAME.fullmatch(name)
    if match is None:
        return "is not a public alert name IceCube-YYMMDD + capital letters (e.g. IceCube-220524A)"
    year, month, day = (int(part) for part in match.groups()[:3])
    try:
        dt.date(2000 + year, month, day)
    except ValueError:
        return f"has no calendar date in IceCube-YYMMDD ({match.group(1)}{match.group(2)}{match.group(3)})"
    return None


def is_public_name(name: str | None) -> bool:
    """Whether ``name`` is a public alert name (a heartbeat's or None is not)."""
    return name is not None and alert_name_problem(name) is None


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
