"""``skyscan truthsim``'s command line: its help teaches, a bad value is one line naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest

from skyscan.cli import main


def test_the_help_gives_examples_defaults_and_meanings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["truthsim", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "examples:\n  nice -n 19 skyscan truthsim --seed 1 --count 20 --output-dir" in text
    assert "(default 10000:1000000)" in text and "(default 1)" in text and "(default 0)" in text
    assert "DIR/truthsim_SSSS_IIIIII.json" in text and "skyscan calibrate" in text
    assert "%%" not in text


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--count", "-1", "argument --count: must be > 0, got -1"),
        ("--count", "many", "argument --count: expected a whole number, got 'many'"),
        ("--first-index", "-2", "argument --first-index: must be >= 0, got -2"),
        (
            "--energy-range",
            "20000:10000",
            "argument --energy-range: LOW must be below HIGH, got '20000:10000'",
        ),
        ("--energy-range", "5:1000", "argument --energy-range: LOW must be above 10 GeV, got '5:1000'"),
        ("--energy-range", "1e4", "argument --energy-range: expected LOW:HIGH in GeV"),
        ("--photons-per-m", "inf", "argument --photons-per-m: expected a finite number > 0, got 'inf'"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_option_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, says: str
) -> None:
    argv = ["truthsim", "--seed", "1", "--count", "1", "--output-dir", str(tmp_path / "out"), option, value]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"skyscan truthsim: error: {says}") and err.count("\n") == 1, err
    assert "(see `skyscan truthsim --help`)" in err
    assert not (tmp_path / "out").exists()
