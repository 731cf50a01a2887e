"""The README's "Where things are" (its table, the tiers and the message-to-Circular diagram) names only
paths that exist, and names the module that wires the alert lifecycle."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_FOLDERS = ("skybase", "skymist", "skyscan", "scanner_client", "templates", "migrations")
PATH = re.compile(rf"\b(?:{'|'.join(TOP_FOLDERS)})/[\w./-]*")
TIER = re.compile(r"^\s+(\w+(?: \| \w+)+)\s*$", re.MULTILINE)


def section(text: str, title: str) -> str:
    """The text of the ``## title`` section (up to the next ``## ``)."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def named_paths(text: str) -> list[str]:
    return sorted({match.group(0).rstrip(".") for match in PATH.finditer(text)})


def test_every_path_where_things_are_names_exists() -> None:
    where = section((ROOT / "README.md").read_text(encoding="utf-8"), "Where things are")
    paths = named_paths(where)
    assert "skymist/runtime/lifecycle.py" in paths and "```mermaid" in where
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert not missing, f"the README's 'Where things are' names paths that do not exist: {missing}"


def test_every_domain_package_of_the_tiers_exists() -> None:
    where = section((ROOT / "README.md").read_text(encoding="utf-8"), "Where things are")
    packages = [name for tier in TIER.findall(where) for name in tier.split(" | ")]
    assert "alerts" in packages and "skymap" in packages, packages
    missing = [
        name
        for name in packages
        if not (ROOT / "skymist" / name).is_dir() and not (ROOT / "skymist" / f"{name}.py").is_file()
    ]
    assert not missing, f"the README's domain tiers name packages that do not exist: {missing}"


def test_the_path_finder_sees_a_missing_module() -> None:
    text = "| x | `skymist/no_such_module.py`, `skymist/alerts/` | y |\n"
    paths = named_paths(text)
    assert paths == ["skymist/alerts/", "skymist/no_such_module.py"]
    assert not (ROOT / paths[1]).exists()
