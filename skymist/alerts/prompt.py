"""Handlers of the three message kinds. Each runs inside the transaction that recorded the message."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from skymist.alert_names import allocate_name, is_public_name
from skymist.alerts.context import AlertIdentity, ProductContext, Publication, RevisionNumbers, build_context
from skymist.alerts.products import queue_revision_products
from skymist.alerts.prompt_position import PromptLocalization, prompt_localization
from skymist.alerts.rows import (
    AlertChanges,
    AlertRow,
    RevisionRow,
    find_revision,
    insert_revision,
    lock_or_create_alert,
    save_alert,
    update_revision,
)
from skymist.ingest.messages import AlertEnvelope, MessageKind, RealtimeEvent
from skymist.ingest.parse import InputError
from skymist.message_handlers import HandlerContext, Outcome
from skymist.scans.planning import plan_entries, plan_scans
from skymist.states import AlertState

UNCLASSIFIED = "UNCLASSIFIED"


class _Classification(TypedDict):
    """A revision's classification columns, as the envelope gives them."""

    signalness: float | None
    far_per_year: float | None
    energy_tev: float | None


#: the classification of a bare event's revision (no alert has classified it yet)
_NOT_CLASSIFIED: _Classification = {"signalness": None, "far_per_year": None, "energy_tev": None}


def _event_details(event: RealtimeEvent) -> dict[str, Any]:
    data = event.value.data
    fit = event.require_online()
    energy = (data.reco.model_extra or {}).get("energy") if data.reco is not None else None
    return {
        "online_fit": {
            "name": "splinempe",
            "zen_rad": fit.zen,
            "azi_rad": fit.azi,
            "cr_zen_rad": fit.cr_zen,
            "cr_azi_rad": fit.cr_azi,
        },
        "event_time": data.eventtime.isoformat(),
        "nch": data.nch,
        "npulses": data.npulses,
        "qtot": data.qtot,
        "energy_proxies": energy if isinstance(energy, dict) else None,
        "streams": event.value.streams,
    }


def _add_revision(
    ctx: HandlerContext,
    alert: AlertRow,
    event: RealtimeEvent,
    revision: int,
    loc: PromptLocalization,
    classification: _Classification,
) -> int:
    return insert_revision(
        ctx.session,
        alert_id=alert.id,
        run_id=alert.run_id,
        event_id=alert.event_id,
        revision=revision,
        inbox_id=ctx.inbox_id,
        ra_deg=loc.ra_deg,
        dec_deg=loc.dec_deg,
        err50_deg=loc.err50_deg,
        err90_deg=loc.err90_deg,
        errors_derived=loc.errors_derived,
        message_version=event.value.version,
        details=_event_details(event),
        **classification,
    )


def _alert_name(ctx: HandlerContext, alert: AlertRow, when: dt.datetime) -> str:
    """The name the alert's products carry: its own when that is a public name (a mirrored notice's,
    checked at the boundary), else the next name of its UTC day. A name that is not a public one
    (a row stored before names were checked) is never published: the alert is named afresh."""
    if alert.run_id == ctx.settings.heartbeat_run_id:
        return alert.name or f"heartbeat-{alert.event_id}"  # a synthetic heartbeat: never a public name
    if alert.name is not None and is_public_name(alert.name):
        return alert.name
    return allocate_name(ctx.session, when.astimezone(dt.UTC).date())


def record_event(ctx: HandlerContext, event: RealtimeEvent) -> Outcome:
    """A bare realtime event: record it (unclassified) with its online position; no public products."""
    alert, created = lock_or_create_alert(
        ctx.session,
        event.run_id,
        event.event_id,
        stream=UNCLASSIFIED,
        source="realtime",
        state=AlertState.RECORDED,
        event_time=event.value.data.eventtime,
    )
    if not created and find_revision(ctx.session, event.run_id, event.event_id, 0) is not None:
        return Outcome(
            "duplicate",
            alert.id,
            0,
            f"run {event.run_id} event {event.event_id} revision 0 is already recorded",
        )
    loc = prompt_localization(
        event,
        err50_deg=None,
        err90_deg=None,
        floor50_deg=ctx.settings.err50_floor_deg,
        floor90_deg=ctx.settings.err90_floor_deg,
    )
    _add_revision(ctx, alert, event, 0, loc, _NOT_CLASSIFIED)
    return Outcome("created", alert.id, 0, f"recorded unclassified event {event.run_id}/{event.event_id}")


def _not_handled(
    ctx: HandlerContext, alert: AlertRow, envelope: AlertEnvelope, existing: RevisionRow | None
) -> Outcome | None:
    """The outcome of an envelope that adds nothing (a duplicate, a retracted alert's), or None; a
    revision that comes before the one it follows is refused (a dead letter naming the field)."""
    event, cls = envelope.event, envelope.alert
    taking_over = alert.state == AlertState.MIRRORED  # seen on GCN first: the realtime alert takes over
    if existing is not None and existing.signalness is not None and not taking_over:
        return Outcome(
            "duplicate",
            alert.id,
            cls.revision,
            f"run {event.run_id} event {event.event_id} revision {cls.revision} is already recorded",
        )
    if alert.state == AlertState.RETRACTED:
        return Outcome(
            "duplicate", alert.id, cls.revision, f"alert {alert.name} was retracted; revision ignored"
        )
    previous = cls.revision - 1
    if previous >= 0 and find_revision(ctx.session, event.run_id, event.event_id, previous) is None:
        raise InputError(
            f"revision {cls.revision} of run {event.run_id} event {event.event_id} came before revision "
            f"{cls.revision - 1} (revisions are numbered in order from 0)",
            "alert.revision",
            MessageKind.ENVELOPE,
        )
    return None


def _store_revision(
    ctx: HandlerContext,
    alert: AlertRow,
    envelope: AlertEnvelope,
    existing: RevisionRow | None,
    loc: PromptLocalization,
) -> None:
    """Insert the envelope's revision, or take over the one a bare event (or mirrored notice) left."""
    event, cls = envelope.event, envelope.alert
    classification: _Classification = {
        "signalness": cls.signalness,
        "far_per_year": cls.far_per_year,
        "energy_tev": cls.energy_tev,
    }
    if existing is None:
        _add_revision(ctx, alert, event, cls.revision, loc, classification)
        return
    update_revision(
        ctx.session,
        existing.id,
        inbox_id=ctx.inbox_id,
        ra_deg=loc.ra_deg,
        dec_deg=loc.dec_deg,
        err50_deg=loc.err50_deg,
        err90_deg=loc.err90_deg,
        errors_derived=loc.errors_derived,
        message_version=event.value.version,
        details=_event_details(event),
        **classification,
    )


def _prompt_context(
    ctx: HandlerContext, alert: AlertRow, envelope: AlertEnvelope, name: str, loc: PromptLocalization
) -> ProductContext:
    """What the revision's products say (rounded once, as published)."""
    cls = envelope.alert
    assert loc.err50_deg is not None and loc.err90_deg is not None
    return build_context(
        AlertIdentity(name, alert.run_id, alert.event_id, cls.stream, envelope.event.value.data.eventtime),
        RevisionNumbers(
            ra_deg=loc.ra_deg,
            dec_deg=loc.dec_deg,
            err50_deg=loc.err50_deg,
            err90_deg=loc.err90_deg,
            errors_derived=loc.errors_derived,
            energy_tev=cls.energy_tev,
            signalness=cls.signalness,
            far_per_year=cls.far_per_year,
        ),
        Publication(
            revision=cls.revision,
            alert_type="initial" if cls.revision == 0 else "update",
            alert_tense=ctx.settings.alert_tense,
            now=ctx.now,
            supersedes_revision=cls.revision - 1 if cls.revision > 0 else None,
        ),
    )


def _plan_and_save(ctx: HandlerContext, alert: AlertRow, envelope: AlertEnvelope, name: str) -> None:
    """Plan the revision's scans (``scans_enabled``) and record the alert as prompt-queued."""
    cls = envelope.alert
    if ctx.settings.scans_enabled:
        plan_scans(
            ctx.session,
            plan_entries(ctx.settings, cls.stream),
            alert_id=alert.id,
            revision=cls.revision,
            now=ctx.now,
        )
    changes: AlertChanges = {}
    if alert.name != name:
        changes["name"] = name
    if alert.stream != cls.stream:
        changes["stream"] = cls.stream
    if alert.source != "realtime":
        changes["source"] = "realtime"
    save_alert(ctx.session, alert, new_state=AlertState.PROMPT_QUEUED, **changes)


def prompt_alert(ctx: HandlerContext, envelope: AlertEnvelope) -> Outcome:
    """A classified alert: record it, name it, and queue its notice, VOEvent and Slack message."""
    event, cls = envelope.event, envelope.alert
    when = event.value.data.eventtime
    alert, created = lock_or_create_alert(
        ctx.session,
        event.run_id,
        event.event_id,
        stream=cls.stream,
        source="realtime",
        state=AlertState.RECORDED,
        event_time=when,
    )
    existing = None if created else find_revision(ctx.session, event.run_id, event.event_id, cls.revision)
    refused = _not_handled(ctx, alert, envelope, existing)
    if refused is not None:
        return refused
    loc = prompt_localization(
        event,
        err50_deg=cls.err50_deg,
        err90_deg=cls.err90_deg,
        floor50_deg=ctx.settings.err50_floor_deg,
        floor90_deg=ctx.settings.err90_floor_deg,
    )
    name = _alert_name(ctx, alert, when)
    _store_revision(ctx, alert, envelope, existing, loc)
    product_ctx = _prompt_context(ctx, alert, envelope, name, loc)
    rows = queue_revision_products(ctx.session, ctx.settings, ctx.renderer, alert.id, product_ctx)
    _plan_and_save(ctx, alert, envelope, name)
    return Outcome(
        "created" if created or existing is None else "updated",
        alert.id,
        cls.revision,
        f"{alert.name}: {cls.stream} revision {cls.revision} queued ({rows} products)",
        outbox_rows=rows,
    )
