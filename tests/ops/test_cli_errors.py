"""Every operator mistake is one line on stderr naming the value and the fix, with a non-zero exit;
never a traceback. Each case is one an operator really hit."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from skymist.cli.main import main
from skymist.store.product_models import AuditEntry
from skyscan.cli import main as skyscan_main
from tests.refine.conftest import real_scan_doc, real_scan_json
from tests.refine.support import mark_localization_pending, record_alert

__all__ = ["real_scan_doc", "real_scan_json"]  # fixtures used below


def exit_code(argv: list[str]) -> int | str | None:
    """``main``'s exit code, also when argparse exits by itself (SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Run the command: a non-zero exit and one error line holding every needle, no traceback."""
    code = exit_code(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code not in (0, None), err
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    message = lines[0]
    assert message.startswith("skymist") and ": error: " in message, err
    for needle in needles:
        assert needle in message, message
    return message


def dead_letter(
    database_url: str, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> int:
    event = json.loads((shared_dir / "data/real/run00138632-evt000031747601-BRONZE.json").read_text())
    event["value"]["version"] = "2025x"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(event))
    assert main(["--database-url", database_url, "replay", str(path)]) == 1
    capsys.readouterr()
    assert main(["--database-url", database_url, "dead-letter", "list", "--json"]) == 0
    [letter] = json.loads(capsys.readouterr().out)["dead_letters"]
    letter_id: int = letter["id"]
    return letter_id


def test_alerts_list_with_an_unknown_state(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    one_line_error(
        capsys, ["--database-url", database_url, "alerts", "list", "--state", "bogus"],
        "--state", "'bogus'", "prompt_sent",
    )  # fmt: skip


@pytest.mark.parametrize(("group", "value"), [("alerts", "-1"), ("scans", "-5"), ("outbox", "0")])
def test_a_negative_limit(
    database_url: str, group: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    one_line_error(
        capsys, ["--database-url", database_url, group, "list", "--limit", value],
        "--limit", value, ">= 1",
    )  # fmt: skip


def test_dead_letter_discarded_twice_and_replayed_unknown(
    database_url: str, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letter_id = dead_letter(database_url, shared_dir, tmp_path, capsys)
    base = ["--database-url", database_url, "dead-letter"]
    assert main([*base, "discard", str(letter_id), "--reason", "test input", "--by", "ops"]) == 0
    capsys.readouterr()
    one_line_error(
        capsys,
        [*base, "discard", str(letter_id), "--reason", "again"],
        f"dead letter {letter_id}",
        "discarded",
    )
    one_line_error(capsys, [*base, "replay", "99"], "no dead letter with id 99")
    one_line_error(capsys, [*base, "replay", str(letter_id)], f"dead letter {letter_id}", "already discarded")


@pytest.mark.parametrize(
    ("url", "needles"),
    [
        ("not-a-url", ("database_url", "'not-a-url'", "postgresql+psycopg://")),
        ("mysql://x@y/z", ("database_url", "'mysql://x@y/z'", "'mysql' is not supported")),
        ("mysql://x:hunter2@y/z", ("database_url", "********", "'mysql' is not supported")),
    ],
)
def test_a_database_url_that_is_no_store(
    url: str, needles: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    message = one_line_error(capsys, ["--database-url", url, "alerts", "list"], *needles)
    assert "hunter2" not in message


def test_a_malformed_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "skymist.toml"
    config.write_text('database_url = "postgresql+psycopg://postgres@127.0.0.1/x"\nalert_tense = current\n')
    one_line_error(
        capsys, ["--config", str(config), "alerts", "list"], str(config), "not valid TOML", "line 2"
    )


def test_a_config_variable_naming_a_missing_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKYMIST_CONFIG", "/nonexistent.toml")
    one_line_error(capsys, ["alerts", "list"], "'/nonexistent.toml'", "does not exist", "SKYMIST_CONFIG")


def test_a_bogus_flag_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    one_line_error(capsys, ["--bogus-flag"], "unrecognized arguments: --bogus-flag")
    one_line_error(capsys, [], "give a command")


@pytest.mark.slow
def test_circular_approve_without_user_records_the_login_name(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import getpass
    import os
    import pwd

    from skymist.alerts.refined import localize_alert

    app = app_factory(data_dir=tmp_path)
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    assert localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final").status == "created"
    for variable in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    login = pwd.getpwuid(os.getuid()).pw_name
    assert getpass.getuser() == login
    assert main(["--database-url", database_url, "circular", "approve", str(alert_id)]) == 0
    assert f"by {login}" in capsys.readouterr().out
    with app.sessions() as session:
        actors = set(session.execute(select(AuditEntry.actor)).scalars())
    assert login in actors


def test_skyscan_serve_on_a_busy_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        code = skyscan_main(["serve", "--port", str(port), "--database-url", f"sqlite:///{tmp_path}/s.db"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and "Traceback" not in err
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0], err


def test_check_with_bad_settings_is_unknown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Nagios plugin that cannot run says UNKNOWN (3), never CRITICAL, and never prints a secret."""
    monkeypatch.setenv("SKYMIST_CONFIG", "/nonexistent.toml")
    assert main(["check"]) == 3
    assert capsys.readouterr().out.startswith("SKYMIST UNKNOWN - settings: settings file '/nonexistent.toml'")
    monkeypatch.delenv("SKYMIST_CONFIG")
    assert main(["--database-url", "mysql://u:hunter2@h/d", "check"]) == 3
    out = capsys.readouterr().out
    assert out.startswith("SKYMIST UNKNOWN - setting database_url") and "hunter2" not in out
