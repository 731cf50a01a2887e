"""The README says what the code does: every setting its settings table names exists in
``skymist/config.py`` with the default the table gives, and the prose's Rev 0 radius floors are the
settings' defaults."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from skymist.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
TABLE_HEADER = "| setting | default | meaning |"

#: defaults the table gives in words, and what each must mean: (setting, words) -> check of the value
WORDED_DEFAULTS: dict[tuple[str, str], Callable[[Any], bool]] = {
    ("notice_topic", "GCN's test topics"): lambda v: v.startswith("gcn.notices.") and ".test." in v,
    ("voevent_topic", "GCN's test topics"): lambda v: v.startswith("gcn.classic.voevent.") and ".test" in v,
    ("scan_plans", "the backend's defaults"): lambda v: not v,
    ("public_base_url", "an example URL"): lambda v: isinstance(v, str) and "example" in v,
    ("circulars_api_url", "GCN's API"): lambda v: isinstance(v, str) and "gcn.nasa.gov" in v,
}


def default_of(name: str) -> Any:
    info = Settings.model_fields[name]
    value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def table_rows() -> list[tuple[str, str]]:
    """(settings cell, defaults cell) of every row of the README's settings table."""
    lines = README.read_text().splitlines()
    start = lines.index(TABLE_HEADER)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, f"README settings table: a row without 3 cells: {line}"
        rows.append((cells[0], cells[1]))
    assert rows, "README: the settings table has no rows"
    return rows


def named_settings(cell: str) -> list[list[str]]:
    """The settings a cell names, one list per name: a plain name, ``_suffix`` (the previous name's
    stem plus the suffix, e.g. ``scanner_oauth_token_url``, ``_client_id``), or a ``prefix_*`` glob."""
    fields = list(Settings.model_fields)
    named: list[list[str]] = []
    stem: list[str] = []
    for token in re.findall(r"`([^`]+)`", cell):
        if "*" in token:
            matched = fnmatch.filter(fields, token)
            assert matched, f"README settings table: {token} matches no setting"
            named.append(matched)
        elif token.startswith("_"):
            candidates = ["_".join(stem[:k]) + token for k in range(len(stem) - 1, 0, -1)]
            found = [c for c in candidates if c in Settings.model_fields]
            assert found, f"README settings table: {token} (after {'_'.join(stem)}) is no setting"
            named.append(found[:1])
        else:
            assert token in Settings.model_fields, f"README settings table: {token!r} is no setting"
            named.append([token])
            stem = token.split("_")
    return named


def matches(name: str, words: str, value: Any) -> bool:
    """Whether the table's default ``words`` of ``name`` say ``value``."""
    words = words.strip()
    if words == "none":  # unset, or an empty list (e.g. no console accounts)
        return value is None or value == [] or value == {}
    if words in ("on", "off"):
        return value is (words == "on")
    number = re.fullmatch(r"(-?\d+(?:\.\d+)?)(?: (?:s|deg|%))?", words)
    if number:
        return not isinstance(value, bool) and isinstance(value, int | float) and float(number[1]) == value
    literal = re.fullmatch(r"`([^`]*)`", words)
    if literal:
        if isinstance(value, list):
            return ",".join(map(str, value)) == literal[1]
        return str(getattr(value, "value", value)) == literal[1]
    check = WORDED_DEFAULTS.get((name, words))
    assert check is not None, (
        f"README settings table: the default of {name} is given as {words!r}, which this test cannot "
        "read: write the value, or add its meaning to WORDED_DEFAULTS"
    )
    return check(value)


def test_every_setting_the_readme_table_names_exists_with_its_default() -> None:
    problems = []
    for names_cell, defaults_cell in table_rows():
        named = named_settings(names_cell)
        defaults = [d.strip() for d in defaults_cell.split(", ")]
        if len(defaults) == 1:
            defaults *= len(named)
        assert len(defaults) == len(named), (
            f"README settings table: {len(named)} settings but {len(defaults)} defaults in the row "
            f"{names_cell} | {defaults_cell}"
        )
        for names, words in zip(named, defaults, strict=True):
            for name in names:
                value = default_of(name)
                if not matches(name, words, value):
                    problems.append(f"{name}: README says {words!r}, config.py has {value!r}")
    assert not problems, "README settings table drifted from skymist/config.py: " + "; ".join(problems)


def test_the_readme_states_the_rev0_radius_floors_of_the_code() -> None:
    text = " ".join(README.read_text().split())
    found = re.findall(r"floored at ([\d.]+)°/([\d.]+)° \(`(\w+)`, `(\w+)`[:)]", text)
    assert found, "README: the sentence on the Rev 0 radius floors is gone (update this test with it)"
    for first, second, name1, name2 in found:
        assert (float(first), float(second)) == (default_of(name1), default_of(name2)), (
            f"README says {name1}/{name2} are {first}/{second}, config.py has "
            f"{default_of(name1)}/{default_of(name2)}"
        )
