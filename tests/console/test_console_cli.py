"""Password hashes and ``skymist console``: the (argon2id) hash for ``console_users``; a console no one could
log in to is a one-line error; the daemon's job registry knows the console and runs it only when
asked."""

from __future__ import annotations

import io
from typing import Any

import pytest

from skymist.cli.main import main
from skymist.console.passwords import hash_password, verify_password
from skymist.runtime.jobs import JobName, default_jobs, parse_jobs


def test_passwords_are_salted_argon2id_hashes() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password("correct horse", first) and not verify_password("correct hors", first)
    assert not verify_password("x", "not a hash")


def test_hash_password_reads_stdin_and_prints_an_argon2id_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("night-shift-pw\n"))
    assert main(["console", "--hash-password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("$argon2id$") and verify_password("night-shift-pw", printed)


def test_a_console_without_any_login_is_refused(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", database_url, "console", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skymist: error: no one can log in") and len(err.splitlines()) == 1


def test_the_console_job_runs_only_when_enabled_or_named(app_factory: Any) -> None:
    assert JobName.CONSOLE not in default_jobs(app_factory())
    assert JobName.CONSOLE in default_jobs(app_factory(console_enabled=True))
    assert parse_jobs("dispatch,console") == [JobName.DISPATCH, JobName.CONSOLE]
