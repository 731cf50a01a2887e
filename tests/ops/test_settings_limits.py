"""Every setting is checked when it is loaded, by every command: a wrong value is one line on stderr
naming the setting, the value and what is allowed, with a non-zero exit, before the command does
anything. The values are the ones an operator really set (issue 26)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from skymist.cli.main import build_parser, main
from skymist.config import Settings
from skyscan.cli import main as skyscan_main
from tests.ops.test_cli_errors import one_line_error

#: (environment variable, value, what the error line must name: the setting, the value, the range)
OUT_OF_RANGE = [
    ("SKYMIST_OUTBOX_MAX_ATTEMPTS", "-1", ("outbox_max_attempts", "'-1'", "a whole number from 1 to 1000")),
    ("SKYMIST_SCAN_STUCK_AFTER_S", "-5", ("scan_stuck_after_s", "'-5'", "a number > 0 (seconds)")),
    ("SKYMIST_HTTP_PORT", "99999", ("http_port", "'99999'", "from 1 to 65535 (a TCP port)")),
    ("SKYMIST_HEARTBEAT_INTERVAL_S", "-1", ("heartbeat_interval_s", "'-1'", "a number >= 0 (seconds)")),
    ("SKYMIST_CHECK_DISK_CRITICAL_FREE", "5", ("check_disk_critical_free", "'5'", "a number from 0 to 1")),
]


def leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Every runnable command of the CLI with made-up arguments that argparse accepts (the settings
    are checked before any command looks at them)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if groups:
        for name, sub in groups[0].choices.items():
            yield from leaf_commands(sub, (*path, name))
        return
    argv = list(path)
    for action in parser._actions:
        value = str(next(iter(action.choices))) if action.choices else "1"
        if not action.option_strings and action.nargs != "?" and action.dest != "help":
            argv.append(value)
        elif action.required:
            argv += [action.option_strings[0], value]
    for group in parser._mutually_exclusive_groups:
        if group.required:
            first = group._group_actions[0]
            argv += [first.option_strings[0]] + ([] if first.nargs == 0 else ["1"])
    yield argv


COMMANDS = list(leaf_commands(build_parser()))


def test_the_commands_are_all_found() -> None:
    firsts = {argv[0] for argv in COMMANDS}
    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert firsts == set(commands.choices)
    pairs = {tuple(argv[:2]) for argv in COMMANDS}
    assert {("alerts", "list"), ("skymap", "analyze"), ("dead-letter", "replay")} <= pairs, pairs


@pytest.mark.parametrize(("variable", "value", "needles"), OUT_OF_RANGE)
def test_an_out_of_range_setting_stops_every_command(
    variable: str,
    value: str,
    needles: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    for argv in COMMANDS:
        if argv[0] == "check":  # a Nagios plugin: UNKNOWN on stdout, exit 3
            assert main(argv) == 3
            out = capsys.readouterr().out
            assert out.startswith("SKYMIST UNKNOWN - setting") and all(n in out for n in needles), out
            continue
        message = one_line_error(capsys, argv, *needles)
        assert message.startswith("skymist: error: setting"), (argv, message)


def test_the_real_entry_point_says_it_in_one_line(tmp_path: Path) -> None:
    """The installed ``skymist`` command, as an operator runs it: one line, exit 2, no JSON."""
    env = {**os.environ, "SKYMIST_OUTBOX_MAX_ATTEMPTS": "-1"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("skymist")), "status"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == "", done
    [line] = done.stderr.splitlines()
    assert line.startswith("skymist: error: setting outbox_max_attempts = '-1': "), line
    assert line.endswith("; allowed: a whole number from 1 to 1000"), line


@pytest.mark.parametrize(
    ("values", "needles"),
    [
        (
            {"check_disk_warning_free": "0.01"},
            ("check_disk_critical_free = 0.05", "check_disk_warning_free = 0.01", "CRITICAL"),
        ),
        ({"check_lag_warning": "5000"}, ("check_lag_warning = 5000", "check_lag_critical = 1000")),
        ({"err50_floor_deg": "1.0"}, ("err50_floor_deg = 1", "err90_floor_deg = 0.5133")),
        (
            {"outbox_backoff_base_s": "600"},
            ("outbox_backoff_base_s = 600", "outbox_backoff_max_s = 300"),
        ),
    ],
)
def test_settings_that_contradict_each_other(
    values: dict[str, str],
    needles: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"SKYMIST_{name.upper()}", value)
    message = one_line_error(capsys, ["alerts", "list"], *needles)
    assert message.startswith("skymist: error: settings: ")


def test_a_wrong_value_in_the_settings_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "skymist.toml"
    config.write_text("outbox_max_attempts = -1\nnotice_topic = 'gcn notices'\n")
    message = one_line_error(capsys, ["--config", str(config), "config"], "outbox_max_attempts = -1")
    assert "notice_topic = 'gcn notices'" in message and "allowed: a Kafka topic name" in message


def test_a_config_path_that_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = one_line_error(capsys, ["--config", str(tmp_path), "status"], str(tmp_path), "is a folder")
    assert "does not exist" not in message


def test_console_users_that_are_not_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKYMIST_CONSOLE_USERS", "[{name: ana}]")
    message = one_line_error(
        capsys,
        ["console", "sessions"],
        "console_users",
        "SKYMIST_CONSOLE_USERS",
        "not valid JSON",
        "a JSON list",
    )
    assert "unexpected" not in message and "ana" not in message


def test_a_sqlite_store_in_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "no-such-folder"
    url = f"sqlite:///{folder}/skymist.sqlite"
    message = one_line_error(capsys, ["--database-url", url, "alerts", "list"], str(folder), "does not exist")
    assert "PostgreSQL" not in message and "mkdir" in message


def test_replay_with_the_broker_down(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SKYMIST_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
    argv = ["--database-url", database_url, "replay", "--topic", "x", "--from-offset", "0", "--tense", "test"]
    code = main(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("skymist: error:")]
    assert code != 0 and len(errors) == 1, err
    assert f"127.0.0.1:{port}" in errors[0] and "is Kafka up?" in errors[0], errors
    assert "unexpected" not in err and "Traceback" not in err
    for line in err.splitlines():  # the log lines (librdkafka's) are plain text too
        assert not line.startswith("{"), err


def test_config_shows_what_each_setting_allows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(Settings.model_fields)
    assert rows["check_disk_critical_free"]["allowed"] == "a number from 0 to 1 (a fraction: 0.05 is 5%)"
    assert rows["http_port"]["allowed"] == "none, or a whole number from 1 to 65535 (a TCP port)"
    assert rows["slack_mode"]["allowed"] == "one of 'webhook', 'web_api', 'console', 'off'"
    assert all(row["allowed"] for row in rows.values())
    assert main(["config"]) == 0
    text = capsys.readouterr().out
    assert (
        "outbox_max_attempts (SKYMIST_OUTBOX_MAX_ATTEMPTS) = 8\n    allowed: a whole number from 1 to 1000\n"
        in text
    )
    assert text.count("    allowed: ") == len(Settings.model_fields)


def test_skyscan_serve_names_a_wrong_setting_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKYSCAN_STALE_AFTER_S", "2")
    monkeypatch.setenv("SKYSCAN_HEARTBEAT_S", "5")
    assert skyscan_main(["serve", "--port", "0", "--database-url", f"sqlite:///{tmp_path}/s.db"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stale_after_s = 2" in err and "heartbeat_s = 5" in err, err
    monkeypatch.delenv("SKYSCAN_STALE_AFTER_S")
    monkeypatch.setenv("SKYSCAN_WORKERS", "0")
    assert skyscan_main(["serve", "--port", "0", "--database-url", f"sqlite:///{tmp_path}/s.db"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "workers = '0'" in err and "allowed: a whole number >= 1" in err, err


@pytest.mark.parametrize("argv", [["run", "--http-port", "99999"], ["catalogue", "serve", "--port", "99999"]])
def test_a_port_option_out_of_range_is_named(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Told before anything starts (it was an OverflowError at the daemon's start-up)."""
    one_line_error(capsys, argv, argv[-2], "99999 is not a TCP port", "1 to 65535")


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        ("icecube.alert", "is the same for every alert"),
        ("x.{run}", "is not a format string"),
        ("{name} x", "ASCII"),
    ],
)
def test_a_doi_suffix_pattern_that_makes_no_doi(
    pattern: str, needle: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKYMIST_DOI_SUFFIX_PATTERN", pattern)
    one_line_error(capsys, ["archive", "verify"], "setting doi_suffix_pattern", repr(pattern), needle)
