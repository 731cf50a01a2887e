"""What the store knows of one alert, read in one go as plain data (the input of every archive step).

Nothing here reads a clock: a snapshot of the same store state is always the same, which is what makes
a rebuilt record identical to the one the hooks wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skybase.json_types import JSONObject, JSONValue
from skymist.archive.errors import ArchiveError
from skymist.states import AlertState, OutboxState
from skymist.store.models import Alert, AlertRevision, InboxMessage, OutboxRow
from skymist.store.product_models import AuditEntry, Circular, Localization
from skymist.store.scan_models import Scan

#: the stream classes that have public products (and so DOIs, catalogue rows)
PUBLIC_STREAMS = ("GOLD", "BRONZE", "CASCADE")


@dataclass(frozen=True)
class InputMessage:
    id: int
    topic: str
    partition: int
    offset: int
    kind: str | None
    received_at: dt.datetime
    raw: bytes


@dataclass(frozen=True)
class SentProduct:
    id: int
    revision: int | None
    sink: str
    destination: str
    product: str
    idempotency_key: str
    content_type: str
    payload: bytes
    sent_at: dt.datetime | None
    delivery_ref: str | None


@dataclass(frozen=True)
class ScanRecord:
    id: int
    revision: int
    plan_entry: str
    state: str
    backend_scan_id: str | None
    requested_by: str
    plan: JSONObject
    finished_at: dt.datetime | None
    result: bytes | None
    partial_result: bytes | None


@dataclass(frozen=True)
class RevisionRecord:
    revision: int
    ra_deg: float
    dec_deg: float
    err50_deg: float | None
    err90_deg: float | None
    signalness: float | None
    far_per_year: float | None
    energy_tev: float | None
    details: JSONObject
    created_at: dt.datetime


@dataclass(frozen=True)
class LocalizationRecord:
    row: JSONObject  # every column of the localizations row

    def __getitem__(self, key: str) -> JSONValue:
        return self.row[key]


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: dt.datetime
    actor: str
    action: str
    subject_kind: str
    subject_id: int
    reason: str | None
    details: JSONObject


@dataclass(frozen=True)
class AlertSnapshot:
    id: int
    run_id: int
    event_id: int
    name: str | None
    stream: str
    source: str
    state: str
    event_time: dt.datetime
    created_at: dt.datetime
    revisions: tuple[RevisionRecord, ...]
    inputs: tuple[InputMessage, ...]
    sent: tuple[SentProduct, ...]
    scans: tuple[ScanRecord, ...]
    localizations: tuple[LocalizationRecord, ...]
    audit: tuple[AuditRecord, ...]
    circular_numbers: dict[int, str]  # circular row id -> GCN Circular number (when the API said)

    @property
    def label(self) -> str:
        return self.name or f"{self.run_id}_{self.event_id}"

    @property
    def folder(self) -> str:
        return self.label

    @property
    def public(self) -> bool:
        return self.stream in PUBLIC_STREAMS and self.name is not None

    @property
    def retracted(self) -> bool:
        return self.state == AlertState.RETRACTED.value

    @property
    def retraction_reason(self) -> str | None:
        for entry in self.audit:
            if entry.action == "alert_retracted":
                return entry.reason
        return None

    @property
    def retracted_at(self) -> dt.datetime | None:
        for entry in self.audit:
            if entry.action == "alert_retracted":
                return entry.at
        return None

    def localization_of(self, revision: int) -> LocalizationRecord | None:
        for loc in self.localizations:
            if loc["revision"] == revision:
                return loc
        return None

    def first_sent(self, revision: int) -> dt.datetime | None:
        """When the revision's first product went out (its publication)."""
        times = [p.sent_at for p in self.sent if p.revision == revision and p.sent_at is not None]
        return min(times) if times else None

    def published_revisions(self) -> list[RevisionRecord]:
        """Revisions of which at least one product was sent (the public versions)."""
        sent = {p.revision for p in self.sent if p.sink == "kafka"}
        return [rev for rev in self.revisions if rev.revision in sent]


def _columns(row: Any) -> JSONObject:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _circular_number(delivery_ref: str | None) -> str | None:
    """The GCN Circular number the API answered (``circular:NNNNN`` or a bare number)."""
    if not delivery_ref:
        return None
    tail = delivery_ref.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None


def take_snapshot(session: Session, alert_id: int, *, light: bool = False) -> AlertSnapshot:
    """Read everything the archive needs of alert ``alert_id``; ``light`` leaves out the bytes (raw
    input, payloads, scan results: empty), enough for the metadata and the catalogue."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise ArchiveError(f"alert_id = {alert_id!r}: no such alert")
    revs, inbox_ids = _revisions(session, alert_id)
    inputs = _inputs(session, inbox_ids, light)
    sent = _sent(session, alert_id, light)
    scans = _scans(session, alert_id, light)
    locs = [
        LocalizationRecord(_columns(loc))
        for loc in session.execute(
            select(Localization).where(Localization.alert_id == alert_id).order_by(Localization.id)
        ).scalars()
    ]
    audit = [
        AuditRecord(a.id, a.at, a.actor, a.action, a.subject_kind, a.subject_id, a.reason, dict(a.details))
        for a in session.execute(
            select(AuditEntry).where(AuditEntry.alert_id == alert_id).order_by(AuditEntry.id)
        ).scalars()
    ]
    return AlertSnapshot(
        id=alert.id,
        run_id=alert.run_id,
        event_id=alert.event_id,
        name=alert.name,
        stream=alert.stream,
        source=alert.source,
        state=alert.state.value,
        event_time=alert.event_time,
        created_at=alert.created_at,
        revisions=tuple(revs),
        inputs=tuple(inputs),
        sent=tuple(sent),
        scans=tuple(scans),
        localizations=tuple(locs),
        audit=tuple(audit),
        circular_numbers=_circular_numbers(session, alert_id),
    )


def _lazy(light: bool, *columns: Any) -> list[Any]:
    """Loader options leaving the byte columns out of a light snapshot."""
    from sqlalchemy.orm import defer

    return [defer(c) for c in columns] if light else []


def _revisions(session: Session, alert_id: int) -> tuple[list[RevisionRecord], list[int]]:
    """The alert's revisions in order, and the inbox messages they came from (each once)."""
    revisions = session.execute(
        select(AlertRevision).where(AlertRevision.alert_id == alert_id).order_by(AlertRevision.revision)
    ).scalars()
    revs = []
    inbox_ids: list[int] = []
    for rev in revisions:
        revs.append(
            RevisionRecord(
                rev.revision,
                rev.ra_deg,
                rev.dec_deg,
                rev.err50_deg,
                rev.err90_deg,
                rev.signalness,
                rev.far_per_year,
                rev.energy_tev,
                dict(rev.details or {}),
                rev.created_at,
            )
        )
        if rev.inbox_id is not None and rev.inbox_id not in inbox_ids:
            inbox_ids.append(rev.inbox_id)
    return revs, inbox_ids


def _inputs(session: Session, inbox_ids: list[int], light: bool) -> list[InputMessage]:
    return [
        InputMessage(
            m.id, m.topic, m.partition, m.offset, m.kind, m.received_at, b"" if light else bytes(m.raw)
        )
        for m in session.execute(
            select(InboxMessage)
            .options(*_lazy(light, InboxMessage.raw))
            .where(InboxMessage.id.in_(inbox_ids))
            .order_by(InboxMessage.id)
        ).scalars()
    ]


def _sent(session: Session, alert_id: int, light: bool) -> list[SentProduct]:
    return [
        SentProduct(
            r.id,
            r.revision,
            r.sink,
            r.destination,
            r.product,
            r.idempotency_key,
            r.content_type,
            b"" if light else bytes(r.payload),
            r.sent_at,
            r.delivery_ref,
        )
        for r in session.execute(
            select(OutboxRow)
            .options(*_lazy(light, OutboxRow.payload))
            .where(OutboxRow.alert_id == alert_id, OutboxRow.state == OutboxState.SENT)
            .order_by(OutboxRow.id)
        ).scalars()
    ]


def _scans(session: Session, alert_id: int, light: bool) -> list[ScanRecord]:
    return [
        ScanRecord(
            s.id,
            s.revision,
            s.plan_entry,
            s.state.value,
            s.backend_scan_id,
            s.requested_by,
            dict(s.plan or {}),
            s.finished_at,
            None if light or s.result is None else bytes(s.result),
            None if light or s.partial_result is None else bytes(s.partial_result),
        )
        for s in session.execute(
            select(Scan)
            .options(*_lazy(light, Scan.result, Scan.partial_result))
            .where(Scan.alert_id == alert_id)
            .order_by(Scan.id)
        ).scalars()
    ]


def _circular_numbers(session: Session, alert_id: int) -> dict[int, str]:
    """The GCN numbers of the alert's sent Circulars, by Circular id."""
    numbers: dict[int, str] = {}
    for circ_id, ref in session.execute(
        select(Circular.id, OutboxRow.delivery_ref)
        .join(OutboxRow, OutboxRow.id == Circular.outbox_id)
        .where(Circular.alert_id == alert_id, OutboxRow.state == OutboxState.SENT)
    ).all():
        number = _circular_number(ref)
        if number is not None:
            numbers[circ_id] = number
    return numbers
