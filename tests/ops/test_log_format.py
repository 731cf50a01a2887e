"""One log format everywhere: JSON lines without terminal colours (uvicorn's ``color_message`` left
out), and an operator's command whose error is one plain line with no JSON beside it unless
``--log-format json`` is asked for."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from skybase.logs import configure_logging
from skymist.cli.main import main


def test_uvicorn_lines_are_json_without_colours(tmp_path: Path) -> None:
    """``skyscan serve`` (uvicorn behind our log handler) started and stopped: its start-up and
    shut-down lines, whose records carry ``color_message`` with ANSI escapes, come out as our JSON
    lines without that field or any escape."""
    skyscan = str(Path(sys.executable).with_name("skyscan"))
    argv = [skyscan, "serve", "--port", "0", "--database-url", f"sqlite:///{tmp_path}/scans.sqlite3"]
    with subprocess.Popen(
        argv,
        cwd=tmp_path,
        env={**os.environ, "SKYSCAN_USER_TOKENS": '["t0ken-of-a-user"]'},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "skyscan serving on http://..." once it listens
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert first.startswith("skyscan serving on"), (first, err)
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    from_uvicorn = [r for r in records if r["logger"].startswith("uvicorn")]
    # this line's record carries color_message ("Started server process [\x1b[36m%d\x1b[0m]")
    assert any(r["message"].startswith("Started server process [") for r in from_uvicorn), records
    assert all("color_message" not in r for r in records), from_uvicorn
    assert "\x1b" not in err and "\\u001b" not in err, err


def test_escapes_in_a_message_are_removed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("skymist", "INFO")
    logging.getLogger("somewhere").warning("\x1b[31mred\x1b[0m alert", extra={"where": "\x1b[1mhere"})
    [record] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert record["message"] == "red alert" and record["where"] == "here"
    configure_logging("skymist", "INFO", log_format="text")
    logging.getLogger("somewhere").warning("\x1b[31mred\x1b[0m alert", extra={"where": "here"})
    assert capsys.readouterr().err == "skymist: log: WARNING somewhere: red alert (where=here)\n"


def _stderr_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, list[str]]:
    try:
        code: int | str | None = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err.splitlines()


def test_a_command_error_is_one_plain_line_and_json_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--log-level DEBUG`` makes the command log (the store's engine, the settings); its failure is
    still one plain ``skymist: error:`` line, the log lines plain text, unless ``--log-format json``."""
    url = f"sqlite:///{tmp_path}/missing/skymist.sqlite"
    argv = ["--log-level", "DEBUG", "--database-url", url, "alerts", "list"]
    code, lines = _stderr_of(argv, capsys)
    errors = [line for line in lines if line.startswith("skymist: error: ")]
    assert code == 3 and len(errors) == 1, lines
    assert not [line for line in lines if line.lstrip().startswith("{")], lines
    code, lines = _stderr_of(["--log-format", "json", *argv], capsys)
    errors = [line for line in lines if line.startswith("skymist: error: ")]
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert code == 3 and len(errors) == 1, lines
    assert logged and len(logged) + 1 == len([line for line in lines if line.strip()]), lines


def test_a_bad_log_format_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _stderr_of(["--log-format", "xml", "status"], capsys)
    assert code == 2 and len(lines) == 1 and "--log-format" in lines[0] and "'xml'" in lines[0], lines
