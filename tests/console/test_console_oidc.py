"""The console's OIDC login (authorization-code flow) against a local provider stand-in: the
redirect, the state check, the code exchange with the client secret, the ID token's signature (JWKS),
issuer, audience and nonce; the role from the groups claim."""

from __future__ import annotations

from typing import Any

import requests
from fastapi.testclient import TestClient

from skymist.console.app import create_console
from tests.console.oidc_provider import OidcProvider

CONSOLE = "http://console.test"


def _run(app_factory: Any, groups: list[str]) -> tuple[str, int]:
    with OidcProvider("skymist-console", "s3cret-console", "carol", groups) as provider:
        app = app_factory(
            console_oidc_issuer=provider.issuer,
            console_oidc_client_id="skymist-console",
            console_oidc_client_secret="s3cret-console",
            console_oidc_shifter_groups=["/realtime/shifters"],
            console_base_url=CONSOLE,
        )
        with TestClient(create_console(app), base_url=CONSOLE) as client:
            login_page = client.get("/login")
            assert (
                "Log in with the observatory" in login_page.text and 'name="password"' not in login_page.text
            )
            start = client.get("/auth/login?next=/alerts", follow_redirects=False)
            assert start.status_code == 303 and start.headers["location"].startswith(
                f"{provider.issuer}/auth?"
            )
            assert "response_type=code" in start.headers["location"]
            back = requests.get(start.headers["location"], allow_redirects=False, timeout=5)
            callback = back.headers["Location"]
            assert callback.startswith(f"{CONSOLE}/auth/callback?")
            forged = client.get(callback.replace("state=", "state=x"), follow_redirects=False)
            assert forged.status_code == 403  # a state that is not this browser's login is refused
            done = client.get(callback.removeprefix(CONSOLE), follow_redirects=False)
            assert done.status_code == 303 and done.headers["location"] == "/alerts"
            page = client.get("/alerts")
            assert page.status_code == 200 and "carol" in page.text
            role = "shifter" if "role-shifter" in page.text else "observer"
            return role, provider.token_requests


def test_oidc_login_of_a_shifter(app_factory: Any) -> None:
    role, exchanges = _run(app_factory, ["/realtime/shifters", "/icecube"])
    assert (role, exchanges) == ("shifter", 1)


def test_oidc_login_of_anyone_else_is_an_observer(app_factory: Any) -> None:
    role, _ = _run(app_factory, ["/icecube"])
    assert role == "observer"
