"""The example settings file is complete (every setting, with its docstring), loads as it is, and is
what ``skymist config --example`` generates."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from skymist.cli.main import main
from skymist.config import Settings
from skymist.runtime.example_config import example_toml

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "skymist.toml.example"


def test_the_example_lists_every_setting_with_its_docstring() -> None:
    text = EXAMPLE.read_text()
    assert text == example_toml(), "regenerate: skymist config --example > deploy/skymist.toml.example"
    for name, info in Settings.model_fields.items():
        assert re.search(rf"^(# )?{name} =", text, re.M), f"{name} is missing from the example"
        first_words = " ".join((info.description or "").split()[:6])
        assert first_words and first_words in " ".join(text.replace("# ", "").split()), name


def test_the_example_loads_and_keeps_secrets_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    document = tomllib.loads(EXAMPLE.read_text())
    for name in ("slack_bot_token", "gcn_client_secret", "scanner_token", "circulars_token"):
        assert name not in document
    for variable in [v for v in __import__("os").environ if v.startswith("SKYMIST_")]:
        monkeypatch.delenv(variable)
    settings = Settings.load(EXAMPLE)
    assert settings.notice_topic == "gcn.notices.icecube.gold_bronze_track_alerts"
    assert settings.heartbeat_interval_s == 300.0
    assert main(["config", "--example"]) == 0
    assert capsys.readouterr().out == EXAMPLE.read_text()
