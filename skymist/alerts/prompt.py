"""Handlers of the three message kinds. Each runs inside the transaction that recorded the message."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from skymist.alerts.context import AlertIdentity, Publication, RevisionNumbers, build_context
from skymist.alerts.naming import allocate_name, is_public_name
from skymist.alerts.products import queue_revision_products
from skymist.alerts.prompt_position import PromptLocalization, prompt_localization
from skymist.alerts.rows import (
    AlertRow,
    find_revision,
    insert_revision,
    lock_or_create_alert,
    name_taken,
    save_alert,
    update_revision,
)
from skymist.ingest.messages import AlertEnvelope, GcnNotice, MessageKind, RealtimeEvent
from skymist.ingest.parse import InputError
from skymist.ingest.registry import HandlerContext, HandlerRegistry, Outcome
from skymist.outbox import keys
from skymist.outbox.queue import cancel_pending, enqueue, slack_spec
from skymist.scans.planning import plan_entries, plan_scans
from skymist.states import AlertState

UNCLASSIFIED = "UNCLASSIFIED"


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
    **classification: float | None,
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
    _add_revision(ctx, alert, event, 0, loc)
    return Outcome("created", alert.id, 0, f"recorded unclassified event {event.run_id}/{event.event_id}")


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
    loc = prompt_localization(
        event,
        err50_deg=cls.err50_deg,
        err90_deg=cls.err90_deg,
        floor50_deg=ctx.settings.err50_floor_deg,
        floor90_deg=ctx.settings.err90_floor_deg,
    )
    classification = {
        "signalness": cls.signalness,
        "far_per_year": cls.far_per_year,
        "energy_tev": cls.energy_tev,
    }
    name = _alert_name(ctx, alert, when)
    if existing is None:
        _add_revision(ctx, alert, event, cls.revision, loc, **classification)
    else:  # the bare event (or a mirrored notice) came first: it is now the realtime alert's
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
    assert loc.err50_deg is not None and loc.err90_deg is not None
    product_ctx = build_context(
        AlertIdentity(name, alert.run_id, alert.event_id, cls.stream, when),
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
    rows = queue_revision_products(ctx.session, ctx.settings, ctx.renderer, alert.id, product_ctx)
    if ctx.settings.scans_enabled:
        plan_scans(
            ctx.session,
            plan_entries(ctx.settings, cls.stream),
            alert_id=alert.id,
            revision=cls.revision,
            now=ctx.now,
        )
    save_alert(
        ctx.session,
        alert,
        new_state=AlertState.PROMPT_QUEUED,
        **({"name": name} if alert.name != name else {}),
        **({"stream": cls.stream} if alert.stream != cls.stream else {}),
        **({"source": "realtime"} if alert.source != "realtime" else {}),
    )
    return Outcome(
        "created" if created or existing is None else "updated",
        alert.id,
        cls.revision,
        f"{alert.name}: {cls.stream} revision {cls.revision} queued ({rows} products)",
        outbox_rows=rows,
    )


def mirror_notice(ctx: HandlerContext, notice: GcnNotice) -> Outcome:
    """A public IceCube alert seen on GCN: record it (not re-published) and tell the shifters."""
    run_id, event_id = notice.run_event
    name = (
        notice.event_name[0]
        if isinstance(notice.event_name, list) and notice.event_name
        else (notice.event_name if isinstance(notice.event_name, str) else None)
    )
    alert, created = lock_or_create_alert(
        ctx.session,
        run_id,
        event_id,
        stream=notice.stream or UNCLASSIFIED,
        source="gcn",
        state=AlertState.MIRRORED,
        event_time=notice.trigger_time,
    )
    if alert.name is None and name and not name_taken(ctx.session, name):
        save_alert(ctx.session, alert, name=name)
    status: Literal["created", "updated"] = "created"
    if notice.alert_type == "retraction":
        if alert.state != AlertState.RETRACTED:
            save_alert(ctx.session, alert, new_state=AlertState.RETRACTED)
            cancel_pending(ctx.session, alert.id, "retracted on GCN")
    elif find_revision(ctx.session, run_id, event_id, notice.record_number) is not None:
        return Outcome(
            "duplicate",
            alert.id,
            notice.record_number,
            f"GCN notice record {notice.record_number} of {run_id}_{event_id} is already recorded",
        )
    else:
        err = notice.ra_dec_error
        err90 = err if isinstance(err, float) else (err[0] if err else None)
        insert_revision(
            ctx.session,
            alert_id=alert.id,
            run_id=run_id,
            event_id=event_id,
            revision=notice.record_number,
            inbox_id=ctx.inbox_id,
            ra_deg=notice.ra,
            dec_deg=notice.dec,
            err90_deg=err90,
            signalness=notice.p_astro,
            far_per_year=notice.far * 31_557_600.0 if notice.far is not None else None,
            energy_tev=notice.nu_energy,
            details={"gcn_alert_type": notice.alert_type, "gcn_alert_tense": notice.alert_tense},
        )
        status = "created" if created else "updated"
    if ctx.settings.slack_mode != "off":
        spec = slack_spec(
            ctx.settings,
            ctx.renderer,
            product="slack_mirrored",
            idempotency_key=keys.mirrored_notice_product(
                run_id, event_id, notice.record_number, notice.alert_type, "slack_mirrored"
            ),
            template="slack/mirrored.json.j2",
            variables={
                "name": name or keys.event_ref(run_id, event_id),
                "alert_type": notice.alert_type,
                "record_number": notice.record_number,
                "run_id": run_id,
                "event_id": event_id,
                "ra_deg": notice.ra,
                "dec_deg": notice.dec,
            },
            alert_id=alert.id,
            revision=notice.record_number,
        )
        enqueue(ctx.session, spec)
    return Outcome(
        status,
        alert.id,
        notice.record_number,
        f"mirrored GCN notice {notice.alert_type} record {notice.record_number} of {run_id}_{event_id}",
    )


def register(registry: HandlerRegistry) -> None:
    """Bind the alert lifecycle's handler of each message kind."""
    registry.register(RealtimeEvent, record_event)
    registry.register(AlertEnvelope, prompt_alert)
    registry.register(GcnNotice, mirror_notice)
