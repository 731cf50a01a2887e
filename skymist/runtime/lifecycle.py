"""The alert lifecycle, wired: every step from a message to a Circular, registered in one place.

::

    Kafka message ── ingest (skymist.ingest.inbox: record, parse, dead-letter) ── message handlers:
        RealtimeEvent  -> skymist.alerts.prompt.record_event     (recorded, unclassified: no products)
        AlertEnvelope  -> skymist.alerts.prompt.prompt_alert     (Rev 0, its products, scans planned)
        GcnNotice      -> skymist.alerts.gcn_mirror.mirror_notice (a public alert seen on GCN)
    scans planned ── skymist.scans.tracker (SkyDriver: submit, poll, final result) ── alert localized_pending
    final scan ── skymist.scans.handoff (durable, retried) ── final-scan consumers:
        skymist.alerts.final_scan.localize_final_scan  (Rev 1: skymap, products, Circular draft)
        the archive record (skymist.archive.hooks.write_quietly)
    outbox (skymist.outbox.dispatcher) ── hooks:
        before send: skymist.alerts.outbox_hooks.veto_retracted, skymist.archive.doi.veto_superseded
                     (the archive's hooks only when the archive or DataCite is enabled)
        after sent:  Rev 0 sent (skymist.alerts.outbox_hooks), Circulars submitted
                     (skymist.circulars.submission.circulars_submitted), archive records and DOIs
    Circular draft ── approval (skymist.circulars.approval) ── outbox ── GCN Circulars

Nothing here runs at import; :func:`wire` is called by :func:`skymist.runtime.assembly.build_app`, and
:func:`final_scan_consumers` by the ``handoff`` job and the commands that hand a final scan over.
"""

from __future__ import annotations

from skybase.event import RealtimeEvent
from skymist.alerts import outbox_hooks
from skymist.alerts.gcn_mirror import mirror_notice
from skymist.alerts.prompt import prompt_alert, record_event
from skymist.app import App
from skymist.archive import hooks as archive_hooks
from skymist.circulars.submission import circulars_submitted
from skymist.ingest.messages import AlertEnvelope, GcnNotice
from skymist.message_handlers import HandlerRegistry
from skymist.scans.handoff import FinalScan, FinalScanConsumer


def register_handlers(registry: HandlerRegistry) -> None:
    """The handler of each message kind."""
    registry.register(RealtimeEvent, record_event)
    registry.register(AlertEnvelope, prompt_alert)
    registry.register(GcnNotice, mirror_notice)


def wire(app: App) -> App:
    """Register the message handlers and the outbox hooks (alert lifecycle, then archive) on ``app``."""
    register_handlers(app.message_handlers)
    outbox_hooks.register(app.outbox_hooks)  # retracted alerts' rows vetoed; Rev 0 sent
    app.outbox_hooks.after_sent.append(circulars_submitted)  # a sent Circular is submitted
    archive_hooks.register(app.outbox_hooks, app)  # records, DOIs
    return app


def localize_consumer() -> FinalScanConsumer:
    """The skymap step that receives final scans (Rev 1): :mod:`skymist.alerts.final_scan`."""
    from skymist.alerts.final_scan import localize_final_scan  # the skymap stack, loaded when used

    return localize_final_scan


def archive_consumer() -> FinalScanConsumer:
    """Write the alert's archive record once its final scan is localized (failures are logged; the
    record is completed at the alert's next send or by the ``archive`` job)."""
    from skymist.archive.trouble import ArchiveTrouble

    def consume(app: App, final: FinalScan, result: bytes) -> None:
        if app.settings.archive_enabled:
            archive_hooks.write_quietly(app.settings, app.sessions, [final.alert_id], ArchiveTrouble(app))

    return consume


def final_scan_consumers() -> list[FinalScanConsumer]:
    """What the hand-off calls with each final scan, in order: Rev 1, then the archive record."""
    return [localize_consumer(), archive_consumer()]
