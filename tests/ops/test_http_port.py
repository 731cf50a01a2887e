"""One HTTP port for the daemon: /metrics, /healthz, /readyz, the cone search, the catalogue pages and
the console, answered by one real ``skymist run`` on one port; each part switched by its setting; the
console's security headers on the console's paths as when it runs alone."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient

from skymist.console.app import SECURITY_HEADERS
from skymist.console.passwords import hash_password
from skymist.runtime.http_app import HttpParts, create_http_app, http_address
from tests.conftest import MockKafka, make_settings
from tests.support.daemon import DaemonProcess
from tests.waiting import wait_for

USERS = [{"name": "alice", "role": "shifter", "password_hash": hash_password("night-shift-pw")}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_the_port_is_http_port_else_the_consoles_else_none(app_factory: Any) -> None:
    settings = app_factory().settings
    assert http_address(settings, port=None, host=None, console=False) is None
    assert http_address(settings, port=None, host=None, console=True) == ("127.0.0.1", 8090)
    assert http_address(settings, port=9465, host="0.0.0.0", console=True) == ("0.0.0.0", 9465)
    with_port = app_factory(http_port=9470, metrics_host="10.0.0.1").settings
    assert http_address(with_port, port=None, host=None, console=True) == ("10.0.0.1", 9470)


def test_each_part_is_switched_and_the_console_keeps_its_headers(app_factory: Any, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "index.html").write_text("<!doctype html><title>catalogue</title>")
    app = app_factory(archive_dir=archive, console_users=USERS, console_session_secret="s" * 40)
    everything = HttpParts(ops=True, cone_search=True, catalogue=True, console=True)
    with TestClient(create_http_app(app, everything)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/healthz").json()["status"] == "alive"
        assert 'name="Error"' in client.get("/scs").text  # no RA: the SCS error document
        assert client.get("/catalogue/").text.startswith("<!doctype html>")
        assert client.get("/catalogue", follow_redirects=False).headers["location"] == "/catalogue/"
        assert client.get("/catalogue/../../etc/passwd").status_code == 404
        login = client.get("/login")
        assert login.status_code == 200 and "<form" in login.text
        for name, value in SECURITY_HEADERS.items():
            assert login.headers[name] == value
        assert client.get("/", follow_redirects=False).status_code == 303  # the console: log in first
        assert "Content-Security-Policy" not in client.get("/scs").headers  # the console's own, not others'
    nothing = HttpParts(ops=False, cone_search=False, catalogue=False, console=False)
    with TestClient(create_http_app(app, nothing)) as client:
        for path in ("/metrics", "/healthz", "/readyz", "/scs?RA=1&DEC=1&SR=1", "/catalogue/", "/login"):
            assert client.get(path).status_code == 404, path


@pytest.mark.slow
def test_the_daemon_answers_metrics_readyz_scs_catalogue_and_console_on_one_port(
    database_url: str, kafka: MockKafka, topic: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "probe.txt").write_text("served from the archive folder\n")
    settings = make_settings(
        database_url,
        kafka,
        kafka_topics=[topic],
        archive_dir=str(archive),
        http_port=port,
        console_enabled=True,
        console_users=USERS,
        console_session_secret="s" * 40,
    )
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")
    try:
        daemon.start()

        def healthz() -> dict[str, Any] | None:
            if not daemon.alive():
                raise AssertionError(daemon.log_text())
            try:
                response = requests.get(f"{base}/healthz", timeout=5)
            except requests.ConnectionError:
                return None
            return dict(response.json()) if response.status_code == 200 else None

        about = wait_for(healthz, 60, "the daemon's /healthz", describe=daemon.log_text)
        assert "console" in about["jobs"] and about["http"] == ["ops", "cone_search", "catalogue", "console"]
        metrics = requests.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200 and "skymist_up 1.0" in metrics.text
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
        scs = requests.get(f"{base}/scs", params={"RA": 10, "DEC": 20, "SR": 1}, timeout=30)
        assert scs.status_code == 200 and scs.headers["content-type"].startswith("text/xml"), (
            scs.status_code,
            scs.headers,
            scs.text[:2000],
            daemon.log_text()[-5000:],
        )
        assert 'name="QUERY_STATUS" value="OK"' in scs.text and "<TABLE" in scs.text
        assert (
            requests.get(f"{base}/catalogue/probe.txt", timeout=5).text == "served from the archive folder\n"
        )
        login = requests.get(f"{base}/login", timeout=5)
        assert login.status_code == 200 and 'name="password"' in login.text
        assert login.headers["X-Frame-Options"] == "DENY"
        assert daemon.terminate() == 0
    finally:
        daemon.close()
