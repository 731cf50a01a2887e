"""The console's sessions in headless Chromium, against the console served over HTTP (uvicorn) on real
PostgreSQL: an anonymous visit to an action goes to the login page and back to the action after
the login; after "Log out", the old session cookie put back into the browser opens nothing; the
lockout after wrong passwords is shown on the login page with the time to retry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from skymist.app import App
from skymist.console.passwords import hash_password
from skymist.console.server import ConsoleServer
from skymist.console.sessions import COOKIE
from tests.console.browser import chromium, free_port, wait_listening

PASSWORD = "alice-Pw-7731"


@pytest.fixture
def served(app_factory: Any) -> Iterator[tuple[App, str]]:
    app = app_factory(
        console_users=[{"name": "alice", "role": "shifter", "password_hash": hash_password(PASSWORD)}],
        console_session_secret="s" * 40,
        console_login_attempts=3,
    )
    server = ConsoleServer(app, "127.0.0.1", free_port())
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        wait_listening(base)
        yield app, base
    finally:
        server.stop()


def submit_login(page: Any, password: str) -> None:
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def test_logout_in_the_browser_and_the_old_cookie_put_back(served: tuple[App, str]) -> None:
    _app, base = served
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/alerts/1/act/approve")
        assert page.url == f"{base}/login?next=/alerts/1/act/approve"
        submit_login(page, PASSWORD)
        assert page.url == f"{base}/alerts/1/act/approve"  # back where the login was asked for
        page.goto(f"{base}/alerts")
        assert page.locator("form.who em.role-shifter").count() == 1
        old = [c for c in context.cookies() if c["name"] == COOKIE]
        assert len(old) == 1 and old[0]["httpOnly"] and old[0]["sameSite"] == "Lax"
        page.click("form.who button[type=submit]")
        page.wait_for_url(f"{base}/login")
        assert not [c for c in context.cookies() if c["name"] == COOKIE]
        context.add_cookies(old)  # the cookie of the ended session, put back
        page.goto(f"{base}/alerts")
        assert page.url == f"{base}/login?next=/alerts"
        assert page.locator("form.who").count() == 0


def test_the_lockout_is_shown_with_the_time_to_retry(served: tuple[App, str]) -> None:
    _app, base = served
    with chromium() as browser:
        page = browser.new_context().new_page()
        page.goto(f"{base}/login")
        for _ in range(2):
            submit_login(page, "wrong")
            assert page.locator("p.error").inner_text() == "wrong name or password"
        submit_login(page, "wrong")
        message = page.locator("p.error").inner_text()
        assert message.startswith("too many failed logins for this account: locked until ")
        assert "UTC; try again in " in message
        submit_login(page, PASSWORD)
        assert page.locator("p.error").inner_text().startswith("too many failed logins")
        assert "/login" in page.url
