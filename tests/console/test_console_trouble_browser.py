"""The console a shifter trusts at 3 a.m., in headless Chromium against a real daemon (its ``console``
job): the GCN notice broker is stopped (a mock cluster in a process of its own, cut off behind its
relay) while IceCube-220524A is recorded and localized from its real scan, and a message the parser
does not accept yet arrives. The alert list then shows the late badge and the oldest undelivered
product's age, every page shows the health banner, the Circular's approval page names the notice
never sent and refuses until a written override; the trouble page lists the bad message. After the
broker is back and the fix (the event version is accepted) the shifter replays the message from the
trouble page, and on a list left open the badge and the banner clear by themselves. No page logs a
4xx or 5xx in the browser's network log. Screenshots go to ``SKYMIST_CONSOLE_SHOTS`` when set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from skymist.alerts.refined import localize_alert
from skymist.console.passwords import hash_password
from skymist.runtime.assembly import build_app
from skymist.states import CircularState, DeadLetterState, OutboxState
from skymist.store.models import DeadLetter, OutboxRow
from skymist.store.product_models import AuditEntry, Circular
from tests.conftest import MockKafka, make_settings
from tests.console.browser import chromium, free_port, log_in, wait_listening
from tests.console.test_console_browser import shots_dir
from tests.helpers import real_event
from tests.refine.support import mark_localization_pending, record_alert
from tests.support.daemon import DaemonProcess
from tests.support.failover_broker import FailoverBroker
from tests.waiting import wait_for

PASSWORD = "alice-Pw-7731"
LATER_EVENT = "run00138632-evt000031747601-BRONZE.json"  # event version 2023a


def visible_banner(page: Any) -> str | None:
    """The health banner's text when it is shown, else None."""
    banner = page.locator("#health-banner")
    if banner.count() != 1 or not banner.is_visible():
        return None
    return str(banner.inner_text())


@pytest.mark.slow
def test_stuck_late_and_waiting_for_a_human_at_a_glance(
    database_url: str, kafka: MockKafka, topic: str, shared_dir: Path, real_scan_json: bytes, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    users = [{"name": "alice", "role": "shifter", "password_hash": hash_password(PASSWORD)}]
    shots = shots_dir(tmp_path)
    with FailoverBroker() as notices:
        upstream = notices.relay.target
        assert upstream is not None
        overrides: dict[str, Any] = {
            "kafka_topics": [topic],
            "notice_bootstrap_servers": notices.bootstrap,
            "data_dir": str(tmp_path),
            "console_enabled": True,
            "console_port": port,
            "console_users": users,
            "console_session_secret": "s" * 40,
            "console_base_url": base,
            "console_live_refresh_s": 0.5,
            "check_outbox_age_warning_s": 2.0,  # late after 2 s (the banner's outbox check too)
            "check_outbox_age_critical_s": 600.0,
            "outbox_max_attempts": 1000,  # pending while the broker is away, never given up
            "outbox_backoff_max_s": 1.0,
            "supported_event_versions": ["2021a"],  # the 2023a event is a dead letter until the fix
        }
        settings = make_settings(database_url, kafka, **overrides)
        fixed = settings.model_copy(update={"supported_event_versions": ["2021a", "2023a"]})
        app = build_app(settings)
        notices.relay.set_target(None)  # the GCN broker is stopped: nothing reaches it
        notices.relay.drop_all()
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")
        bad_pages: list[str] = []
        try:
            daemon.start()
            wait_listening(base)
            alert_id = record_alert(app, shared_dir)
            mark_localization_pending(app, alert_id)
            localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final")
            producer = kafka.producer()
            producer.produce(topic, json.dumps(real_event(shared_dir, LATER_EVENT)).encode())
            producer.flush(10)

            def letter_id() -> int | None:
                with app.sessions() as session:
                    return session.execute(select(DeadLetter.id)).scalar()

            letter = wait_for(letter_id, 60, "the 2023a event to become a dead letter", every_s=0.2)

            with chromium() as browser:
                context = browser.new_context(viewport={"width": 1500, "height": 1000})
                context.on(
                    "response",
                    lambda r: (
                        bad_pages.append(f"{r.status} {r.request.method} {r.url}")
                        if r.status >= 400
                        else None
                    ),
                )
                shifter = context.new_page()
                log_in(shifter, base, "alice", PASSWORD)

                # the list: the late badge and the oldest undelivered product's age (the page reloads
                # itself when the delivery state changes)
                row = shifter.locator(f"tr[data-alert='{alert_id}']")
                wait_for(
                    lambda: row.locator("[data-field=late]").count() == 1,
                    60,
                    "the late badge",
                    every_s=0.2,
                    tolerate=(PlaywrightError,),
                )
                assert "oldest undelivered:" in row.locator("[data-field=oldest]").inner_text()
                notice = row.locator("[data-product=notice_json][data-state=pending]").first
                assert "pending for" in notice.inner_text()
                banner = wait_for(
                    lambda: visible_banner(shifter),
                    30,
                    "the banner",
                    every_s=0.2,
                    tolerate=(PlaywrightError,),
                )
                assert "outbox" in banner and "dead_letters" in banner and "see Health" in banner
                shifter.goto(f"{base}/alerts?sort=attention")
                assert shifter.locator("tr[data-alert]").first.get_attribute("data-alert") == str(alert_id)
                shifter.screenshot(path=str(shots / "list-in-trouble.png"), full_page=True)

                # every page shows the banner
                for path in (f"/alerts/{alert_id}", "/health", "/trouble", f"/alerts/{alert_id}/act/approve"):
                    shifter.goto(f"{base}{path}")
                    assert visible_banner(shifter) is not None, path

                # the approval names the undelivered notice and is refused until overridden in writing
                shifter.fill("input[name=reason]", "position checked")
                shifter.click("button:has-text('Review…')")
                undelivered = shifter.locator("#undelivered").inner_text()
                assert "Rev 0 notice_json: pending for" in undelivered
                assert "Rev 0 GCN notice the Circular cites was never sent" in shifter.inner_text(
                    "[data-field=refusal]"
                )
                shifter.screenshot(path=str(shots / "banner-and-approval.png"), full_page=True)
                token = shifter.evaluate("document.querySelector('input[name=csrf_token]').value")
                refused = shifter.request.post(
                    f"{base}/alerts/{alert_id}/act/approve",
                    form={"csrf_token": token, "step": "confirm", "reason": "position checked"},
                )
                assert refused.status == 409 and "approval refused" in refused.text()
                with app.sessions() as session:
                    assert (
                        session.execute(select(Circular.state)).scalar_one()
                        == CircularState.AWAITING_APPROVAL
                    )
                shifter.fill("textarea[name=override]", "GCN confirmed by phone that the notice reached them")
                shifter.click("button:has-text('Confirm')")
                shifter.wait_for_url(f"{base}/alerts/{alert_id}")
                assert "override" in shifter.inner_text("p.flash")

                # the trouble page lists the message the parser refused
                shifter.goto(f"{base}/trouble")
                item = shifter.locator(f"tr[data-trouble='dead_letter:{letter}']")
                assert item.count() == 1 and "2023a" in item.inner_text()
                shifter.screenshot(path=str(shots / "trouble-page.png"), full_page=True)

                # a list left open: after the broker is back and the fix, it clears by itself
                watcher = context.new_page()
                watcher.goto(f"{base}/alerts")
                assert watcher.locator(f"tr[data-alert='{alert_id}'] [data-field=late]").count() == 1
                notices.relay.set_target(f"{upstream[0]}:{upstream[1]}")
                assert daemon.terminate() == 0
                daemon = DaemonProcess(fixed, tmp_path / "daemon-fixed.log")
                daemon.start()
                wait_listening(base)
                shifter.goto(f"{base}/trouble")
                item = shifter.locator(f"tr[data-trouble='dead_letter:{letter}']")
                item.locator("input[name=reason]").fill("2023a accepted since the upgrade")
                item.locator("button[value=replay]").click()
                shifter.wait_for_url(f"{base}/trouble")
                assert "processed" in shifter.inner_text("p.flash")
                assert shifter.locator(f"tr[data-trouble='dead_letter:{letter}']").count() == 0

                def cleared() -> bool:
                    mine = watcher.locator(f"tr[data-alert='{alert_id}']")
                    late = mine.locator("[data-field=late]").count()
                    delivered = "all delivered" in mine.locator("[data-field=oldest]").inner_text()
                    return late == 0 and delivered and visible_banner(watcher) is None

                wait_for(
                    cleared,
                    120,
                    "the late badge and the banner to clear on the open list",
                    every_s=0.5,
                    tolerate=(PlaywrightError,),
                )
                watcher.screenshot(path=str(shots / "list-all-clear.png"), full_page=True)

                # every page once more, all well (the network log is checked below)
                for path in ("/alerts", f"/alerts/{alert_id}", "/health", "/trouble"):
                    shifter.goto(f"{base}{path}")
            assert daemon.terminate() == 0
        finally:
            daemon.close()
    assert bad_pages == [], bad_pages
    with app.sessions() as session:
        assert session.execute(select(DeadLetter.state)).scalar_one() == DeadLetterState.REPLAYED
        rows = session.execute(
            select(OutboxRow.state).where(OutboxRow.alert_id == alert_id, OutboxRow.revision == 0)
        ).scalars()
        assert set(rows) == {OutboxState.SENT}
        actions = {
            (e.action, e.actor, e.reason)
            for e in session.execute(select(AuditEntry)).scalars()
            if e.action in ("circular_approval_override", "dead_letter_replayed")
        }
    assert actions == {
        ("circular_approval_override", "alice", "GCN confirmed by phone that the notice reached them"),
        ("dead_letter_replayed", "alice", "2023a accepted since the upgrade"),
    }
    app.close()
