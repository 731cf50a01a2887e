"""Find an alert by public name (IceCube-220524A), RUNID_EVENTID or numeric id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.circulars.errors import AlertNotFoundError
from skymist.store.models import Alert


def alert_by_ref(session: Session, ref: str | int, *, lock: bool = False) -> Alert:
    """The alert ``ref`` names; ``lock`` takes a row lock (FOR UPDATE) for the transaction."""
    stmt = select(Alert)
    text = str(ref).strip()
    if "_" in text and all(part.isdigit() for part in text.split("_", 1)):
        run, event = text.split("_", 1)
        stmt = stmt.where(Alert.run_id == int(run), Alert.event_id == int(event))
    elif text.isdigit():
        stmt = stmt.where(Alert.id == int(text))
    else:
        stmt = stmt.where(Alert.name == text)
    if lock:
        stmt = stmt.with_for_update()
    alert = session.execute(stmt).scalar_one_or_none()
    if alert is None:
        raise AlertNotFoundError(
            f"alert = {text!r}: no such alert (give a name like IceCube-220524A, RUNID_EVENTID or an id)"
        )
    return alert
