"""Handlers of the three message kinds. Each runs inside the transaction that recorded the message."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from skymist.ingest.messages import AlertEnvelope, GcnNotice, RealtimeEvent
from skymist.naming import allocate_name
from skymist.outbox.queue import SINK_SLACK, cancel_pending, enqueue
from skymist.pipeline.alert_rows import (
    AlertRow,
    find_revision,
    insert_revision,
    lock_or_create_alert,
    name_taken,
    save_alert,
    update_revision,
)
from skymist.pipeline.localize import PromptLocalization, prompt_localization
from skymist.pipeline.registry import HANDLERS, HandlerContext, Outcome
from skymist.products.context import build_context
from skymist.products.prompt import queue_revision_products
from skymist.scans.planning import plan_entries, plan_scans
from skymist.states import AlertState

UNCLASSIFIED = "UNCLASSIFIED"


def _event_details(event: RealtimeEvent) -> dict[str, Any]:
    data = event.value.data
    fit = data.reco.splinempe
    energy = (data.reco.model_extra or {}).get("energy")
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


@HANDLERS.register(RealtimeEvent)
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


@HANDLERS.register(AlertEnvelope)
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
    if existing is not None and existing.signalness is not None:
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
    name = alert.name or allocate_name(ctx.session, when.astimezone(dt.UTC).date())
    if existing is None:
        _add_revision(ctx, alert, event, cls.revision, loc, **classification)
    else:  # the bare event came first: it is now classified
        update_revision(
            ctx.session,
            existing.id,
            err50_deg=loc.err50_deg,
            err90_deg=loc.err90_deg,
            errors_derived=loc.errors_derived,
            **classification,
        )
    assert loc.err50_deg is not None and loc.err90_deg is not None
    product_ctx = build_context(
        name=name,
        run_id=alert.run_id,
        event_id=alert.event_id,
        revision=cls.revision,
        stream=cls.stream,
        event_time=when,
        ra_deg=loc.ra_deg,
        dec_deg=loc.dec_deg,
        err50_deg=loc.err50_deg,
        err90_deg=loc.err90_deg,
        errors_derived=loc.errors_derived,
        energy_tev=cls.energy_tev,
        signalness=cls.signalness,
        far_per_year=cls.far_per_year,
        alert_type="initial" if cls.revision == 0 else "update",
        alert_tense=ctx.settings.alert_tense,
        voevent_role=ctx.settings.voevent_role,
        now=ctx.now,
        supersedes_revision=cls.revision - 1 if cls.revision > 0 else None,
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
    )
    return Outcome(
        "created" if created or existing is None else "updated",
        alert.id,
        cls.revision,
        f"{alert.name}: {cls.stream} revision {cls.revision} queued ({rows} products)",
        outbox_rows=rows,
    )


@HANDLERS.register(GcnNotice)
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
        enqueue(
            ctx.session,
            sink=SINK_SLACK,
            destination=ctx.settings.slack_channel or "shifters",
            product="slack_mirrored",
            idempotency_key=f"{run_id}_{event_id}:gcn{notice.record_number}:{notice.alert_type}:slack_mirrored",
            payload=ctx.renderer.render_json(
                "slack/mirrored.json.j2",
                {
                    "name": name or f"{run_id}_{event_id}",
                    "alert_type": notice.alert_type,
                    "record_number": notice.record_number,
                    "run_id": run_id,
                    "event_id": event_id,
                    "ra_deg": notice.ra,
                    "dec_deg": notice.dec,
                },
            ),
            content_type="application/json",
            alert_id=alert.id,
            revision=notice.record_number,
        )
    return Outcome(
        status,
        alert.id,
        notice.record_number,
        f"mirrored GCN notice {notice.alert_type} record {notice.record_number} of {run_id}_{event_id}",
    )
