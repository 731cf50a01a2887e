"""The DOI registrations an alert needs, as outbox rows of the ``datacite`` sink.

After every send of an alert's products, its DataCite records are recomputed; each DOI whose record
changed gets one row (idempotency key: DOI + content hash), so every distinct content is registered
exactly once. The alert's DOI is a ``draft`` until its first public revision went out (a notice was
delivered), ``findable`` (``event: publish``) from then on; each public revision's version DOI is
findable. An older row of a DOI is vetoed before sending when a newer one exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skymist.archive.datacite_meta import concept_record, version_record
from skymist.archive.snapshot import AlertSnapshot, take_snapshot
from skymist.config import Settings
from skymist.outbox import keys
from skymist.outbox.queue import OutboxSpec, enqueue_many
from skymist.outbox.sinks.datacite import MEDIA_TYPE, SINK_DATACITE
from skymist.states import OutboxState
from skymist.store.models import OutboxRow

PRODUCT = "doi_registration"


def jsonapi_body(record: dict[str, Any], findable: bool) -> bytes:
    attributes = dict(record)
    if findable:
        attributes["event"] = "publish"
    body = {"data": {"id": record["doi"], "type": "dois", "attributes": attributes}}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def doi_specs(settings: Settings, snap: AlertSnapshot) -> list[OutboxSpec]:
    if not snap.public:
        return []
    published = snap.published_revisions()
    records: list[tuple[dict[str, Any], bool, int | None]] = [
        (concept_record(settings, snap), bool(published), None)
    ]
    records += [(version_record(settings, snap, rev), True, rev.revision) for rev in published]
    specs = []
    for record, findable, revision in records:
        body = jsonapi_body(record, findable)
        specs.append(
            OutboxSpec(
                sink=SINK_DATACITE,
                destination=record["doi"],
                product=PRODUCT,
                idempotency_key=keys.doi_registration(record["doi"], hashlib.sha256(body).hexdigest()),
                payload=body,
                content_type=MEDIA_TYPE,
                alert_id=snap.id,
                revision=revision,
            )
        )
    return specs


def queue_registrations(settings: Settings, session: Session, alert_ids: Sequence[int]) -> list[str]:
    """Queue the registrations the alerts' current records need (in the caller's transaction)."""
    queued: list[str] = []
    for alert_id in sorted(set(alert_ids)):
        queued += enqueue_many(session, doi_specs(settings, take_snapshot(session, alert_id, light=True)))
    return queued


def veto_superseded(session: Session, rows: Sequence[OutboxRow]) -> dict[int, str]:
    """DOI rows for which a newer registration of the same DOI exists (it carries the newer record)."""
    mine = {row.id: row.destination for row in rows if row.sink == SINK_DATACITE}
    if not mine:
        return {}
    newest: dict[str, int] = {}
    for row_id, doi in session.execute(
        select(OutboxRow.id, OutboxRow.destination).where(
            OutboxRow.sink == SINK_DATACITE,
            OutboxRow.destination.in_(set(mine.values())),
            OutboxRow.state != OutboxState.CANCELLED,
        )
    ).all():
        newest[doi] = max(newest.get(doi, 0), row_id)
    return {
        row_id: f"superseded by a newer registration of {doi} (outbox {newest[doi]})"
        for row_id, doi in mine.items()
        if newest.get(doi, row_id) > row_id
    }
