"""The GCN mirror: a public IceCube alert seen on GCN is recorded (not re-published) and the shifters
are told. Runs inside the transaction that recorded the notice, like every message handler."""

from __future__ import annotations

from typing import Literal

from skymist.alerts.prompt import UNCLASSIFIED
from skymist.alerts.rows import (
    AlertRow,
    find_revision,
    insert_revision,
    lock_or_create_alert,
    name_taken,
    save_alert,
)
from skymist.ingest.messages import GcnNotice
from skymist.message_handlers import HandlerContext, Outcome
from skymist.outbox import keys
from skymist.outbox.queue import cancel_pending, enqueue, slack_spec
from skymist.states import AlertState


def _notice_name(notice: GcnNotice) -> str | None:
    """The public name the notice gives (its first, when it gives several)."""
    if isinstance(notice.event_name, list) and notice.event_name:
        return notice.event_name[0]
    return notice.event_name if isinstance(notice.event_name, str) else None


def _record_revision(ctx: HandlerContext, alert: AlertRow, notice: GcnNotice) -> None:
    """The notice's record as a revision of the alert (GCN's numbers, converted to ours)."""
    err = notice.ra_dec_error
    err90 = err if isinstance(err, float) else (err[0] if err else None)
    insert_revision(
        ctx.session,
        alert_id=alert.id,
        run_id=alert.run_id,
        event_id=alert.event_id,
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


def _tell_shifters(ctx: HandlerContext, alert: AlertRow, notice: GcnNotice, name: str | None) -> None:
    """Queue the shifters' Slack message about the mirrored notice."""
    run_id, event_id = notice.run_event
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


def mirror_notice(ctx: HandlerContext, notice: GcnNotice) -> Outcome:
    """A public IceCube alert seen on GCN: record it (not re-published) and tell the shifters."""
    run_id, event_id = notice.run_event
    name = _notice_name(notice)
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
        _record_revision(ctx, alert, notice)
        status = "created" if created else "updated"
    if ctx.settings.slack_mode != "off":
        _tell_shifters(ctx, alert, notice, name)
    return Outcome(
        status,
        alert.id,
        notice.record_number,
        f"mirrored GCN notice {notice.alert_type} record {notice.record_number} of {run_id}_{event_id}",
    )
