"""The console's sessions in the store and its login throttle, over HTTP on real PostgreSQL: logout
and CLI revocation end a session for every copy of its cookie; idle and expired sessions end; wrong
passwords lock an account (across console processes) until the lockout ends; scrypt hashes log in
and are re-hashed to argon2; anonymous pages and actions go to the login page, never elsewhere."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from skymist.app import App
from skymist.cli.main import main
from skymist.console.app import create_console
from skymist.console.passwords import hash_password, verify_password
from skymist.console.sessions import COOKIE
from skymist.store.console_models import ConsoleSession, PasswordRehash
from skymist.store.product_models import AuditEntry
from skymist.store.types import utcnow

BASE = "http://console.test"
PASSWORDS = {"alice": "alice-Pw-7731", "oscar": "oscar-Pw-1209"}
LOCKOUT_S = 600.0


class Clock:
    """The console's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def scrypt_hash(password: str) -> str:
    """A hash in the format the console wrote before argon2."""
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def users(**hashes: str) -> list[dict[str, str]]:
    roles = {"alice": "shifter", "oscar": "observer"}
    return [
        {
            "name": name,
            "role": roles[name],
            "password_hash": hashes.get(name) or hash_password(PASSWORDS[name]),
        }
        for name in roles
    ]


def console(app_factory: Any, clock: Clock, **settings: Any) -> tuple[App, FastAPI]:
    defaults: dict[str, Any] = {
        "console_users": users(),
        "console_session_secret": "k" * 40,
        "console_login_lockout_s": LOCKOUT_S,
    }
    app = app_factory(**{**defaults, **settings})
    api = create_console(app)
    api.state.console.clock = clock
    return app, api


def post_login(client: TestClient, name: str, password: str, next_url: str = "/alerts") -> Any:
    form = client.get("/login")  # the login form's token (a logged-in page has the session's too)
    token = re.search(r'action="/login">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": name, "password": password, "next": next_url},
        follow_redirects=False,
    )


def log_in(client: TestClient, name: str) -> str:
    """Log in; the session's CSRF token."""
    answer = post_login(client, name, PASSWORDS[name])
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts", answer.text
    page = client.get("/alerts")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf is not None
    return csrf.group(1)


def goes_to_login(client: TestClient, path: str = "/alerts") -> bool:
    answer = client.get(path, follow_redirects=False)
    return answer.status_code == 303 and str(answer.headers["location"]).startswith("/login?next=")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_logout_ends_the_session_and_a_replayed_cookie_opens_nothing(app_factory: Any, clock: Clock) -> None:
    app, api = console(app_factory, clock)
    with TestClient(api, base_url=BASE) as client:
        csrf = log_in(client, "alice")
        old_cookie = client.cookies[COOKIE]
        with app.sessions() as session:
            stored = session.execute(select(ConsoleSession.token_hash)).scalars().all()
        assert stored == [hashlib.sha256(old_cookie.encode()).hexdigest()]  # only a hash of the id is kept
        no_token = client.post("/logout", data={}, follow_redirects=False)
        assert no_token.status_code == 403 and not goes_to_login(client)  # no logout without the token
        out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        client.cookies.set(COOKIE, old_cookie)  # the old cookie, replayed
        assert goes_to_login(client, "/alerts") and goes_to_login(client, "/alerts/1/act/approve")
        replayed = client.post("/alerts/1/act/approve", data={"csrf_token": csrf, "step": "confirm"},
                               follow_redirects=False)  # fmt: skip
        assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")
        client.cookies.set(COOKIE, old_cookie[::-1])  # any other id opens nothing either
        assert goes_to_login(client)
    with app.sessions() as session:
        assert session.execute(select(ConsoleSession)).first() is None


def test_idle_and_expired_sessions_end(app_factory: Any, clock: Clock) -> None:
    _app, api = console(app_factory, clock, console_session_idle_s=600.0, console_session_max_age_s=1500.0)
    with TestClient(api, base_url=BASE) as client:
        log_in(client, "alice")
        for step in (500, 500, 499):  # used often: never idle for 600 s, but 1500 s after the login it ends
            clock.advance(step)
            assert not goes_to_login(client)
        clock.advance(1)
        assert goes_to_login(client)
        log_in(client, "alice")
        clock.advance(601)  # idle
        assert goes_to_login(client)


def test_ten_wrong_passwords_lock_the_account_until_the_lockout_ends(app_factory: Any, clock: Clock) -> None:
    app, api = console(app_factory, clock)
    with TestClient(api, base_url=BASE) as client:
        for _ in range(9):
            assert post_login(client, "alice", "wrong").status_code == 401
        clock.advance(30)
        tenth = post_login(client, "alice", "wrong")
        until = clock.now + dt.timedelta(seconds=LOCKOUT_S)
        assert tenth.status_code == 429
        assert f"locked until {until:%Y-%m-%d %H:%M:%S} UTC; try again in 600 s" in tenth.text
        clock.advance(100)
        right = post_login(client, "alice", PASSWORDS["alice"])  # the right password: still refused
        assert right.status_code == 429 and "try again in 500 s" in right.text
        assert right.headers["retry-after"] == "500" and COOKIE not in client.cookies
        assert goes_to_login(client)
        other = TestClient(console(app_factory, clock)[1], base_url=BASE)  # another console process
        assert post_login(other, "alice", PASSWORDS["alice"]).status_code == 429
        log_in(other, "oscar")  # another account from the same address is not locked
        clock.advance(LOCKOUT_S - 100)
        log_in(client, "alice")
        assert post_login(client, "alice", "wrong").status_code == 401  # the count starts again
    assert app.settings.console_login_attempts == 10


def test_many_failures_from_one_address_lock_the_address(app_factory: Any, clock: Clock) -> None:
    _app, api = console(app_factory, clock, console_login_address_attempts=5)
    with TestClient(api, base_url=BASE) as client:
        for name in ("u1", "u2", "u3", "u4"):
            assert post_login(client, name, "guess").status_code == 401
        locked = post_login(client, "u5", "guess")
        assert locked.status_code == 429 and "too many failed logins for this address" in locked.text
        assert post_login(client, "alice", PASSWORDS["alice"]).status_code == 429


def test_the_cli_unlocks_a_locked_account(
    app_factory: Any, clock: Clock, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _app, api = console(app_factory, clock, console_login_attempts=2)
    with TestClient(api, base_url=BASE) as client:
        post_login(client, "alice", "wrong")
        assert post_login(client, "alice", "wrong").status_code == 429
        assert main(["--database-url", database_url, "console", "unlock", "--account", "alice"]) == 0
        assert "account:alice: lockout ended" in capsys.readouterr().out
        log_in(client, "alice")
    assert main(["--database-url", database_url, "console", "unlock", "--address", "x; drop"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skymist: error: --address = 'x; drop'") and len(err.splitlines()) == 1


def test_revoke_from_the_cli_ends_every_live_session_of_a_user(
    app_factory: Any, clock: Clock, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app, api = console(app_factory, clock)
    with (
        TestClient(api, base_url=BASE) as laptop,
        TestClient(api, base_url=BASE) as phone,
        TestClient(api, base_url=BASE) as observer,
    ):
        log_in(laptop, "alice")
        log_in(phone, "alice")
        log_in(observer, "oscar")
        assert main(["--database-url", database_url, "console", "sessions"]) == 0
        listed = capsys.readouterr().out
        assert listed.count("alice  shifter  local") == 2 and "oscar  observer  local" in listed
        args = [
            "--database-url",
            database_url,
            "console",
            "revoke",
            "alice",
            "--by",
            "lead",
            "--reason",
            "lost laptop",
        ]
        assert main(args) == 0
        assert "2 session(s) of alice ended by lead" in capsys.readouterr().out
        assert goes_to_login(laptop) and goes_to_login(phone)
        assert not goes_to_login(observer)  # only alice's
    with app.sessions() as session:
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.action == "console_sessions_revoked")
        ).scalar_one()
        assert (entry.actor, entry.reason, entry.details) == (
            "lead",
            "lost laptop",
            {"user": "alice", "sessions": 2},
        )
    assert main(["--database-url", database_url, "console", "revoke", "has space"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skymist: error: NAME = 'has space'") and len(err.splitlines()) == 1


def test_a_scrypt_hash_logs_in_and_is_rehashed_to_argon2(app_factory: Any, clock: Clock) -> None:
    legacy = scrypt_hash(PASSWORDS["alice"])
    app, api = console(app_factory, clock, console_users=users(alice=legacy))
    with TestClient(api, base_url=BASE) as client:
        assert post_login(client, "alice", "wrong").status_code == 401
        with app.sessions() as session:
            assert session.get(PasswordRehash, "alice") is None  # a wrong password re-hashes nothing
        log_in(client, "alice")
    with app.sessions() as session:
        rehash = session.get(PasswordRehash, "alice")
        assert rehash is not None and rehash.password_hash.startswith("$argon2id$")
        assert verify_password(PASSWORDS["alice"], rehash.password_hash)
        first = rehash.password_hash
    with TestClient(api, base_url=BASE) as again:
        log_in(again, "alice")  # checked against the argon2 hash now: not re-hashed again
    with app.sessions() as session:
        assert session.get(PasswordRehash, "alice").password_hash == first  # type: ignore[union-attr]
    # the administrator sets a new password in console_users: the configured hash rules again
    _app2, api2 = console(app_factory, clock, console_users=users(alice=scrypt_hash("new-Pw-5521")))
    with TestClient(api2, base_url=BASE) as client:
        assert post_login(client, "alice", PASSWORDS["alice"]).status_code == 401
        assert post_login(client, "alice", "new-Pw-5521").status_code == 303


def test_anonymous_pages_and_actions_go_to_the_login_page_and_only_back_here(
    app_factory: Any, clock: Clock
) -> None:
    _app, api = console(app_factory, clock)
    with TestClient(api, base_url=BASE) as client:
        answer = client.get("/alerts/1/act/approve", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/alerts/1/act/approve"
        posted = client.post("/alerts/1/act/retract", data={"step": "confirm"}, follow_redirects=False)
        assert posted.status_code == 303 and posted.headers["location"] == "/login?next=/alerts/1/act/retract"
        for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/\x00x", "alerts"):
            form = client.get("/login", params={"next": evil})
            assert 'name="next" value="/alerts"' in form.text, evil
            done = post_login(client, "oscar", PASSWORDS["oscar"], next_url=evil)
            assert done.status_code == 303 and done.headers["location"] == "/alerts", evil
        back = post_login(client, "alice", PASSWORDS["alice"], next_url="/alerts/1/act/approve")
        assert back.headers["location"] == "/alerts/1/act/approve"
