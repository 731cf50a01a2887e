"""The tests' one waiting helper (``tests/waiting.py``): what it returns, how it fails, its time scale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.waiting import TIME_SCALE_ENV, WaitTimeoutError, scaled, time_scale, wait_for


def test_returns_the_first_truthy_value_of_the_condition() -> None:
    values: Iterator[object] = iter([None, 0, [], {"rows": 2}])
    assert wait_for(lambda: next(values), 60, "rows", every_s=0) == {"rows": 2}


def test_fails_naming_what_it_waited_for_and_the_last_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "1")
    calls: list[int] = []

    def never() -> list[int]:
        calls.append(1)
        return []

    with pytest.raises(WaitTimeoutError, match=r"gave up after 0 s waiting for the rows; last value: \[\]"):
        wait_for(never, 0, "the rows")
    assert len(calls) == 1  # looked once, at the deadline


def test_the_time_scale_multiplies_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIME_SCALE_ENV, raising=False)
    assert time_scale() == 1.0 and scaled(30) == 30
    monkeypatch.setenv(TIME_SCALE_ENV, "2.5")
    assert scaled(30) == 75


@pytest.mark.parametrize("raw", ["0", "-1", "fast", "nan", "inf"])
def test_an_unusable_time_scale_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, raw)
    with pytest.raises(ValueError, match=f"{TIME_SCALE_ENV}: expected a number > 0, got '{raw}'"):
        wait_for(lambda: True, 1, "anything")
