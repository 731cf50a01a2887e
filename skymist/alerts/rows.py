"""Alert and revision rows read and written with SQLAlchemy Core (the hot path: no ORM overhead)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from skymist.states import AlertState, check_transition
from skymist.store.models import Alert, AlertRevision
from skymist.store.types import utcnow
from skymist.store.upsert import dialect_insert

ALERTS = cast(Table, Alert.__table__)
REVISIONS = cast(Table, AlertRevision.__table__)
_ALERT_COLUMNS = (Alert.id, Alert.run_id, Alert.event_id, Alert.name, Alert.stream, Alert.source, Alert.state)


@dataclass
class AlertRow:
    id: int
    run_id: int
    event_id: int
    name: str | None
    stream: str
    source: str
    state: AlertState


@dataclass(frozen=True)
class RevisionRow:
    id: int
    ra_deg: float
    dec_deg: float
    err50_deg: float | None
    err90_deg: float | None
    errors_derived: bool
    signalness: float | None


class AlertChanges(TypedDict, total=False):
    """The columns of ``alerts`` :func:`save_alert` writes (the state goes by ``new_state``)."""

    name: str | None
    stream: str
    source: str


class RevisionChanges(TypedDict, total=False):
    """The columns of ``alert_revisions`` :func:`update_revision` rewrites."""

    inbox_id: int | None
    ra_deg: float
    dec_deg: float
    err50_deg: float | None
    err90_deg: float | None
    errors_derived: bool
    signalness: float | None
    far_per_year: float | None
    energy_tev: float | None
    message_version: str | None
    details: dict[str, object]


def _alert(row: Any) -> AlertRow:
    return AlertRow(row.id, row.run_id, row.event_id, row.name, row.stream, row.source, AlertState(row.state))


def lock_or_create_alert(
    session: Session,
    run_id: int,
    event_id: int,
    *,
    stream: str,
    source: str,
    state: AlertState,
    event_time: dt.datetime,
) -> tuple[AlertRow, bool]:
    """The alert row, locked for this transaction; created if new. Safe with concurrent daemons: the
    insert either creates the row (locked until commit) or finds it, which is then locked."""
    now = utcnow()
    stmt = (
        dialect_insert(session, ALERTS)
        .values(
            run_id=run_id,
            event_id=event_id,
            stream=stream,
            source=source,
            state=state,
            event_time=event_time,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["run_id", "event_id"])
        .returning(*_ALERT_COLUMNS)
    )
    created = session.execute(stmt).first()
    if created is not None:
        return _alert(created), True
    found = session.execute(
        select(*_ALERT_COLUMNS).where(Alert.run_id == run_id, Alert.event_id == event_id).with_for_update()
    ).one()
    return _alert(found), False


def save_alert(
    session: Session,
    alert: AlertRow,
    *,
    new_state: AlertState | None = None,
    **changes: Unpack[AlertChanges],
) -> None:
    """Write ``changes`` (and a checked state transition) to the alert row in one statement."""
    values: dict[str, object] = {**changes}
    if new_state is not None and new_state != alert.state:
        values["state"] = check_transition(alert.state, new_state)
    if not values:
        return
    session.execute(update(ALERTS).where(Alert.id == alert.id).values(updated_at=utcnow(), **values))
    for key, value in values.items():
        setattr(alert, key, value)


def find_revision(session: Session, run_id: int, event_id: int, revision: int) -> RevisionRow | None:
    row = session.execute(
        select(
            AlertRevision.id,
            AlertRevision.ra_deg,
            AlertRevision.dec_deg,
            AlertRevision.err50_deg,
            AlertRevision.err90_deg,
            AlertRevision.errors_derived,
            AlertRevision.signalness,
        ).where(
            AlertRevision.run_id == run_id,
            AlertRevision.event_id == event_id,
            AlertRevision.revision == revision,
        )
    ).first()
    return RevisionRow(*row) if row is not None else None


def insert_revision(
    session: Session,
    *,
    alert_id: int,
    run_id: int,
    event_id: int,
    revision: int,
    ra_deg: float,
    dec_deg: float,
    inbox_id: int | None = None,
    err50_deg: float | None = None,
    err90_deg: float | None = None,
    errors_derived: bool = False,
    signalness: float | None = None,
    far_per_year: float | None = None,
    energy_tev: float | None = None,
    message_version: str | None = None,
    details: Mapping[str, object] | None = None,
) -> int:
    """Add one revision row (the columns of ``alert_revisions``); its id."""
    values = {
        "alert_id": alert_id,
        "run_id": run_id,
        "event_id": event_id,
        "revision": revision,
        "inbox_id": inbox_id,
        "ra_deg": ra_deg,
        "dec_deg": dec_deg,
        "err50_deg": err50_deg,
        "err90_deg": err90_deg,
        "errors_derived": errors_derived,
        "signalness": signalness,
        "far_per_year": far_per_year,
        "energy_tev": energy_tev,
        "message_version": message_version,
        "details": dict(details) if details is not None else {},
        "created_at": utcnow(),
    }
    return int(session.execute(REVISIONS.insert().values(values).returning(AlertRevision.id)).scalar_one())


def update_revision(session: Session, revision_id: int, **changes: Unpack[RevisionChanges]) -> None:
    """Rewrite the given columns of one revision row."""
    session.execute(update(REVISIONS).where(AlertRevision.id == revision_id).values(**changes))


def name_taken(session: Session, name: str) -> bool:
    return session.execute(select(Alert.id).where(Alert.name == name)).first() is not None
