"""The shifters' console in headless Chromium, against a real daemon (its ``console`` job), a real
skyscan, the Kafka protocol and the GCN Circulars API stand-in: a shifter logs in, opens the alert,
watches its scan's progress change on the page, approves the Circular through the confirmation
step, and finds it submitted exactly once and audited; an observer cannot approve, and a POST
without the CSRF token is refused."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from skymist.console.passwords import hash_password
from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.states import CircularState, OutboxState
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import AuditEntry, Circular
from tests.conftest import MockKafka, make_settings
from tests.console.browser import chromium, free_port, log_in, wait_listening
from tests.refine.circulars_api import CircularsApiStandIn
from tests.scans.conftest import scan_settings
from tests.support.daemon import DaemonProcess
from tests.support.skyscan_service import Service
from tests.waiting import wait_for

#: an 8/64/512 scan of about 14,600 pixels: long enough to be watched (the default 3,072 pixels of
#: online_gaussian took under 10 s on a quiet machine, over before the page was open; 7,680 pixels
#: went from 56% to done between two of the page's 2 s updates on a quiet CI machine)
PLAN = {
    "name": "online_gaussian",
    "reco_algo": "online_gaussian",
    "nsides": {8: 0, 64: 72, 512: 144},
    "priority": 100,
    "max_pixel_reco_time_s": 30,
    "cluster": "local",
    "workers": 1,
    "deadline_s": 300.0,
}
USERS = {"alice": ("shifter", "alice-Pw-7731"), "oscar": ("observer", "oscar-Pw-1209")}


def visit(page: Any, url: str) -> bool:
    """Open ``url``; False when the navigation was cut short (the page's live script reloading it)."""
    from playwright.sync_api import Error

    try:
        page.goto(url)
    except Error:
        return False
    return True


def shots_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: ``SKYMIST_CONSOLE_SHOTS`` when set (to look at them), else tmp."""
    folder = Path(os.environ.get("SKYMIST_CONSOLE_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
def test_shifter_watches_the_scan_and_approves_the_circular_once(
    database_url: str, kafka: MockKafka, topic: str, skyscan: Service, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    users = [{"name": n, "role": r, "password_hash": hash_password(p)} for n, (r, p) in USERS.items()]
    with CircularsApiStandIn() as circulars:
        overrides = scan_settings(
            skyscan.url,
            slack_mode="console",
            scan_plans={c: [PLAN] for c in ("GOLD", "BRONZE", "CASCADE", "UNCLASSIFIED")},
            circulars_enabled=True,
            circulars_api_url=f"{circulars.url}/api/circulars",
            circulars_token=circulars.token,
            skymap_thresholds="wilks",
            console_enabled=True,
            console_port=port,
            console_users=users,
            console_session_secret="s" * 40,
            console_base_url=base,
            console_live_refresh_s=0.5,  # several readings of the scan however fast it runs
        )
        settings = make_settings(
            database_url, kafka, kafka_topics=[topic], data_dir=str(tmp_path), **overrides
        )
        app = build_app(settings)
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")
        shots = shots_dir(tmp_path)
        try:
            daemon.start()
            wait_listening(base)

            def alert_id() -> int | None:
                with app.sessions() as session:
                    return session.execute(select(Alert.id).where(Alert.name.is_not(None))).scalar()

            with chromium() as browser:
                # the browser is up and the shifter logged in before the alert comes: the scan's
                # whole run is left to be watched, however fast this machine runs it
                shifter = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                log_in(shifter, base, "alice", USERS["alice"][1])
                producer = kafka.producer()
                producer.produce(topic, alert_batch(1, seed=77, size_bytes=20_000)[0][1])
                producer.flush(10)
                aid = wait_for(alert_id, 60, "the alert to be recorded", every_s=0.05)
                shifter.goto(f"{base}/alerts/{aid}")
                # the scan's progress changes on the page while it runs, without reloading it
                shifter.evaluate("window.__sameDocument = true")
                box = "#scans [data-scan]"
                shifter.wait_for_selector(box, timeout=60_000)

                def reading() -> tuple[str, str, str] | None:
                    if not shifter.evaluate("window.__sameDocument === true"):
                        return None  # the page reloaded: the scan ended
                    cell = shifter.locator(box).first
                    return (
                        cell.locator("[data-field=state]").inner_text(),
                        cell.locator("[data-field=percent]").inner_text(),
                        cell.locator("[data-field=pixels]").inner_text(),
                    )

                seen: list[tuple[str, str, str]] = []
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    now = reading()
                    if now is None:
                        break
                    if now[0] in ("running", "partial") and now[1] != "-" and (not seen or seen[-1] != now):
                        seen.append(now)
                        if len({s[1:] for s in seen}) >= 2:
                            break
                    time.sleep(0.2)
                assert len({s[1:] for s in seen}) >= 2, f"the progress on the page did not change: {seen}"

                def amount(reading: tuple[str, str, str]) -> tuple[float, int]:
                    pixels = re.match(r"(\d+)/", reading[2])
                    return float(reading[1].rstrip("%")), int(pixels.group(1)) if pixels else 0

                first, last = amount(seen[0]), amount(seen[-1])
                assert all(b >= a for a, b in zip(first, last, strict=True)) and last != first, seen
                shifter.screenshot(path=str(shots / "alert-scan-running.png"), full_page=True)
                shifter.goto(f"{base}/alerts")
                shifter.screenshot(path=str(shots / "alert-list.png"), full_page=True)

                # the scan ends, the skymap and the Circular draft appear
                def approvable() -> bool:
                    if not visit(shifter, f"{base}/alerts/{aid}"):
                        return False
                    return bool(shifter.locator("a.button", has_text="Approve…").count() == 1)

                wait_for(approvable, 180, "the Circular draft awaiting approval", every_s=1.0)
                assert shifter.locator("#skymap img").count() == 1
                assert shifter.locator("#skymap img").evaluate("img => img.naturalWidth") > 100
                shifter.screenshot(path=str(shots / "alert-awaiting-approval.png"), full_page=True)

                # an observer sees the page but has no action, and is refused when trying one
                observer = browser.new_context().new_page()
                log_in(observer, base, "oscar", USERS["oscar"][1], f"/alerts/{aid}")
                assert observer.locator("a.button", has_text="Approve…").count() == 0
                assert "read-only" in observer.inner_text("section.head")
                refused = observer.goto(f"{base}/alerts/{aid}/act/approve")
                assert refused is not None and refused.status == 403
                token = observer.evaluate("document.querySelector('input[name=csrf_token]').value")
                answer = observer.request.post(
                    f"{base}/alerts/{aid}/act/approve",
                    form={"csrf_token": token, "step": "confirm", "reason": "observer tries"},
                )
                assert answer.status == 403

                # a shifter's POST without the CSRF token (or with a wrong one) is refused
                for form in ({"step": "confirm"}, {"step": "confirm", "csrf_token": "forged"}):
                    answer = shifter.request.post(f"{base}/alerts/{aid}/act/approve", form=form)
                    assert answer.status == 403
                with app.sessions() as session:
                    draft = session.execute(select(Circular).where(Circular.alert_id == aid)).scalar_one()
                    assert draft.state == CircularState.AWAITING_APPROVAL
                assert circulars.posts == []

                # edit the draft: the review shows the diff, the confirmed text is what is saved
                shifter.click("a.button:has-text('Edit…')")
                text = shifter.input_value("textarea[name=text]")
                first = text.split("\n")[2]  # SUBJECT line, blank line, the body's first line
                shifter.fill(
                    "textarea[name=text]", text.replace(first, first + " (checked by the shifter)", 1)
                )
                shifter.click("button:has-text('Review…')")
                # the review is a new page: its diff is waited for (reading lists of elements does not wait)
                shifter.wait_for_selector("pre.diff .add")
                added = shifter.locator("pre.diff .add").all_inner_texts()
                removed = shifter.locator("pre.diff .del").all_inner_texts()
                assert added == ["+" + first + " (checked by the shifter)"] and removed == ["-" + first]
                shifter.click("button:has-text('Confirm')")
                shifter.wait_for_url(f"{base}/alerts/{aid}")
                assert "(checked by the shifter)" in shifter.inner_text(
                    f"[data-circular='{draft.id}'] pre.text"
                )

                # approve through the form: review (what will happen), then confirm
                shifter.click("a.button:has-text('Approve…')")
                shifter.fill("input[name=reason]", "position checked against the online fit")
                shifter.click("button:has-text('Review…')")
                assert "will be approved" in shifter.inner_text("div.review")
                assert "submitted to the GCN Circulars API" in shifter.inner_text("div.review")
                shifter.click("button:has-text('Confirm')")
                shifter.wait_for_url(f"{base}/alerts/{aid}")
                assert re.search(r"Circular \d+ approved by alice", shifter.inner_text("p.flash"))

                def submitted() -> bool:
                    if not visit(shifter, f"{base}/alerts/{aid}"):
                        return False
                    state = shifter.locator(f"[data-circular='{draft.id}'] [data-field=circular-state]")
                    return bool(state.inner_text() == "submitted")

                wait_for(submitted, 60, "the Circular to be submitted", every_s=1.0)
                audit = shifter.locator("tr[data-audit=circular_approved]")
                assert audit.count() == 1 and "alice" in audit.inner_text()
                assert "position checked against the online fit" in audit.inner_text()
                row = shifter.locator("tr[data-product=circular] [data-field=outbox-state]")
                assert row.count() == 1 and row.inner_text() == "sent"
                shifter.screenshot(path=str(shots / "alert-approved.png"), full_page=True)
            assert daemon.terminate() == 0  # stopped: the posts below are all it ever sent
        finally:
            daemon.close()
        with app.sessions() as session:
            rows = session.execute(select(OutboxRow).where(OutboxRow.product == "circular")).scalars().all()
            assert [r.state for r in rows] == [OutboxState.SENT]
            entries = (
                session.execute(select(AuditEntry).where(AuditEntry.action == "circular_approved"))
                .scalars()
                .all()
            )
            edits = session.execute(
                select(AuditEntry).where(AuditEntry.action == "circular_edited")
            ).scalars()
            assert [e.actor for e in edits] == ["alice"]
            assert [(e.actor, e.reason) for e in entries] == [
                ("alice", "position checked against the online fit")
            ]
        app.close()
        assert len(circulars.posts) == 1
        assert "(checked by the shifter)" in circulars.posts[0]["body"]  # the edited text went out
