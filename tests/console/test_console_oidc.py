"""The console's OIDC login (authorization-code flow with PKCE, through Authlib) against a local
provider stand-in: the redirect, the state check, the code exchange with the client secret and the
PKCE verifier (checked by the provider), the ID token's signature (JWKS, re-fetched when the issuer
rotates its key), issuer, audience and nonce; the role from the groups claim, re-checked with the
issuer every ``console_session_recheck_s``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from fastapi.testclient import TestClient

from skymist.console.app import create_console
from skymist.store.types import utcnow
from tests.console.oidc_provider import OidcProvider

CONSOLE = "http://console.test"
SHIFTERS = "/realtime/shifters"


@contextmanager
def provider_and_console(
    app_factory: Any, groups: list[str], **settings: Any
) -> Iterator[tuple[OidcProvider, Any]]:
    with OidcProvider("skymist-console", "s3cret-console", "carol", groups) as provider:
        app = app_factory(
            console_oidc_issuer=provider.issuer,
            console_oidc_client_id="skymist-console",
            console_oidc_client_secret="s3cret-console",
            console_oidc_shifter_groups=[SHIFTERS],
            console_base_url=CONSOLE,
            **settings,
        )
        yield provider, create_console(app)


def authorize(client: TestClient, next_url: str = "/alerts") -> str:
    """Start a login in ``client``'s browser and let the provider answer: the callback URL (path)."""
    start = client.get(f"/auth/login?next={next_url}", follow_redirects=False)
    assert start.status_code == 303, start.text
    back = requests.get(start.headers["location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    callback = back.headers["Location"]
    assert callback.startswith(f"{CONSOLE}/auth/callback?")
    return callback.removeprefix(CONSOLE)


def role_on_page(client: TestClient) -> str:
    page = client.get("/alerts", follow_redirects=False)
    if page.status_code == 303:
        return "logged out"
    assert page.status_code == 200 and "carol" in page.text
    return "shifter" if "role-shifter" in page.text else "observer"


def _run(app_factory: Any, groups: list[str]) -> tuple[str, int]:
    with (
        provider_and_console(app_factory, groups) as (provider, api),
        TestClient(api, base_url=CONSOLE) as client,
    ):
        login_page = client.get("/login")
        assert "Log in with the observatory" in login_page.text and 'name="password"' not in login_page.text
        start = client.get("/auth/login?next=/alerts", follow_redirects=False)
        assert start.status_code == 303 and start.headers["location"].startswith(f"{provider.issuer}/auth?")
        query = parse_qs(urlparse(start.headers["location"]).query)
        assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
        back = requests.get(start.headers["location"], allow_redirects=False, timeout=10)
        callback = back.headers["Location"].removeprefix(CONSOLE)
        forged = client.get(callback.replace("state=", "state=x"), follow_redirects=False)
        assert forged.status_code == 403  # a state that is not this browser's login is refused
        done = client.get(callback, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/alerts"
        return role_on_page(client), provider.pkce_verified


def test_oidc_login_of_a_shifter(app_factory: Any) -> None:
    role, verified = _run(app_factory, [SHIFTERS, "/icecube"])
    assert (role, verified) == ("shifter", 1)


def test_oidc_login_of_anyone_else_is_an_observer(app_factory: Any) -> None:
    role, _ = _run(app_factory, ["/icecube"])
    assert role == "observer"


def test_pkce_binds_the_code_to_the_browser_that_started_the_login(app_factory: Any) -> None:
    """A code taken from the victim's redirect and replayed in the attacker's browser (with the
    attacker's own valid state) is refused by the provider: the attacker's verifier is not the one
    the code was issued for."""
    with (
        provider_and_console(app_factory, [SHIFTERS]) as (provider, api),
        TestClient(api, base_url=CONSOLE) as victim,
        TestClient(api, base_url=CONSOLE) as attacker,
    ):
        stolen = parse_qs(urlparse(authorize(victim)).query)["code"][0]
        own = parse_qs(urlparse(authorize(attacker)).query)
        own_code = own["code"][0]
        provider.codes.pop(own_code)  # the attacker's own login is abandoned
        injected = attacker.get(
            f"/auth/callback?code={stolen}&state={own['state'][0]}", follow_redirects=False
        )
        assert injected.status_code == 401 and "OIDC login failed" in injected.text
        assert (provider.pkce_refused, provider.pkce_verified) == (1, 0)
        assert role_on_page(attacker) == "logged out"
        done = victim.get(authorize(victim), follow_redirects=False)
        assert done.status_code == 303 and role_on_page(victim) == "shifter"
        assert provider.pkce_verified == 1


def test_a_rotated_signing_key_is_fetched_and_accepted(app_factory: Any) -> None:
    with provider_and_console(app_factory, [SHIFTERS]) as (provider, api):
        with TestClient(api, base_url=CONSOLE) as first:
            assert first.get(authorize(first), follow_redirects=False).status_code == 303
            assert role_on_page(first) == "shifter" and provider.jwks_fetches == 1
        provider.rotate_key()  # the next ID token is signed by a key id the console has not seen
        with TestClient(api, base_url=CONSOLE) as second:
            assert second.get(authorize(second), follow_redirects=False).status_code == 303
            assert role_on_page(second) == "shifter"
        assert provider.jwks_fetches == 2 and provider.key.kid == "k2"


def test_group_removal_takes_effect_at_the_recheck(app_factory: Any) -> None:
    recheck_s = 120.0
    with provider_and_console(app_factory, [SHIFTERS, "/icecube"], console_session_recheck_s=recheck_s) as (
        provider,
        api,
    ):
        now = [utcnow()]
        api.state.console.clock = lambda: now[0]
        with TestClient(api, base_url=CONSOLE) as client:
            assert client.get(authorize(client), follow_redirects=False).status_code == 303
            provider.groups = ["/icecube"]  # removed from the shifter group at the issuer
            now[0] += dt.timedelta(seconds=recheck_s / 2)
            assert role_on_page(client) == "shifter" and provider.userinfo_requests == 0
            now[0] += dt.timedelta(seconds=recheck_s / 2 + 1)
            assert role_on_page(client) == "observer" and provider.userinfo_requests == 1
            refused = client.get("/alerts/1/act/approve", follow_redirects=False)
            assert refused.status_code == 403 and "observer" in refused.text
            provider.groups = [SHIFTERS]  # given back
            now[0] += dt.timedelta(seconds=recheck_s + 1)
            assert role_on_page(client) == "shifter"
            provider.active = False  # disabled at the issuer: its refresh token is refused
            now[0] += dt.timedelta(seconds=recheck_s + 1)
            assert role_on_page(client) == "logged out"
            assert provider.userinfo_requests == 2
