"""The step from a final scan to Rev 1: the hand-off's consumer that localizes the alert from the scan's
result (:func:`skymist.alerts.refined.localize_alert`), with the reco its plan entry declares."""

from __future__ import annotations

from skymist.alerts.refined import localize_alert
from skymist.app import App
from skymist.scans.handoff import FinalScan


def localize_final_scan(app: App, final: FinalScan, result: bytes) -> None:
    """Localize ``final``'s alert from ``result`` (the plan entry declares what its reco is: SkyDriver's
    results don't)."""
    localize_alert(app, final.alert_id, result, scan_ref=final.ref, plan=final.plan)
