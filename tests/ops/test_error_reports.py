"""Optional error aggregation (Sentry's SDK): off unless ``sentry_dsn`` is set; with a DSN, an error
in a real daemon reaches a (local stand-in) Sentry server as an envelope; the DSN is never logged,
and a malformed one is a one-line error that does not print it."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from skymist.cli.main import main
from skymist.config import Settings
from skymist.runtime.error_reports import start_error_reports
from tests.conftest import make_settings
from tests.support.daemon import DaemonProcess
from tests.support.sentry_stand_in import Envelope, SentryStandIn
from tests.waiting import scaled, wait_for


def test_nothing_is_started_without_a_dsn(database_url: str) -> None:
    assert start_error_reports(make_settings(database_url)) is False


def test_a_daemon_error_reaches_sentry_as_an_envelope(database_url: str, tmp_path: Path) -> None:
    key = secrets.token_hex(16)
    with SentryStandIn() as sentry:
        settings = make_settings(
            database_url,
            None,  # a broker that is not there: the metrics job logs "broker unreachable" as an ERROR
            sentry_dsn=sentry.dsn(key),
            sentry_environment="test",
            log_level="INFO",
            shifters_unreachable_after_s=0,
            metrics_sample_s=0.3,
            readyz_timeout_s=0.5,
        )
        daemon = DaemonProcess(settings, tmp_path / "daemon.log", "--jobs", "metrics")
        try:
            daemon.start()

            def outage() -> list[tuple[Envelope, dict[str, Any]]]:
                return [
                    (envelope, event)
                    for envelope, event in sentry.events()
                    if event.get("logentry", {}).get("message") == "broker unreachable"
                ]

            events = wait_for(
                outage,
                scaled(60),
                "the daemon's 'broker unreachable' error at the stand-in",
                every_s=0.2,
                describe=lambda: (sentry.problems, daemon.log_text()[-2000:]),
            )
            assert daemon.terminate() == 0
        finally:
            daemon.close()
    assert not sentry.problems
    envelope, event = events[0]
    assert envelope.path == "/api/42/envelope/" and f"sentry_key={key}" in envelope.auth
    assert event["level"] == "error" and event["environment"] == "test"
    assert event["release"].startswith("skymist@") and event["tags"]["component"] == "daemon"
    assert event["logger"] == "skymist.runtime.shifters"
    crumbs = [c.get("message") for c in event.get("breadcrumbs", {}).get("values", [])]
    assert "errors are reported to Sentry" in crumbs, crumbs  # the log lines before it ride along
    assert key not in daemon.log_text()  # the DSN's key is never logged


def test_a_malformed_dsn_is_one_line_without_the_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKYMIST_SENTRY_DSN", "https://sentry.example.org/not-a-project-secret-word")
    code = main(["alerts", "list"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "sentry_dsn" in err and "Sentry DSN" in err and "secret-word" not in err, err
    with pytest.raises(ValueError, match="PUBLIC_KEY@HOST"):
        Settings(sentry_dsn="ftp://key@host/1")
