"""One real ``skymist demo`` run, read back: the counts docs/acceptance.md promises, the files it
writes (each explained by its legend), its "Inspect with" commands (runnable as printed, without
the venv on PATH), whole output lines, and ``alerts list`` showing each alert's published revision
(the demo's refined revisions are approximations held for approval: never shown as the position)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from skymist.runtime.demo_folder import LEGEND, MARKER
from tests.waiting import scaled

ACCEPTANCE = Path(__file__).resolve().parents[2] / "docs" / "acceptance.md"
PRODUCT_FILE = re.compile(r"^\d+_\d+\.rev\d+(\.\d+-\d+)?\.(notice\.json|voevent\.xml)$")


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    lines: list[str]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo-run") / "skymist-demo"
    done = subprocess.run(
        [sys.executable, "-m", "skymist.cli.main", "demo", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=scaled(600),
        cwd=folder.parent,
    )
    assert done.returncode == 0, f"demo exit {done.returncode}: {done.stderr[-2000:]}\n{done.stdout[-3000:]}"
    return DemoRun(folder, done.stdout.splitlines())


def promised() -> dict[str, int]:
    """The demo's numbers as docs/acceptance.md states them."""
    text = " ".join(ACCEPTANCE.read_text().split())
    patterns = {
        "alerts": r"`skymist demo` \(from the wheel install\) prints (\d+) named alerts",
        "notices": r"(\d+) notices and \d+ VOEvents read back from the broker",
        "voevents": r"\d+ notices and (\d+) VOEvents read back from the broker",
        "skymaps": r"(\d+) skymaps",
        "drafts": r"(\d+) Circular drafts awaiting approval",
        "events": r"`done: (\d+) events recorded",
        "dead_letters": r"events recorded, N products sent, (\d+) dead letter",
    }
    numbers = {}
    for what, pattern in patterns.items():
        found = re.search(pattern, text)
        assert found, f"docs/acceptance.md: the demo's {what} count is gone (pattern {pattern})"
        numbers[what] = int(found[1])
    return numbers


def one(lines: list[str], pattern: str) -> re.Match[str]:
    found = [m for m in (re.fullmatch(pattern, line) for line in lines) if m]
    assert len(found) == 1, f"expected one line {pattern!r}, found {len(found)}"
    return found[0]


def test_the_acceptance_checklist_states_what_the_demo_does(demo_run: DemoRun) -> None:
    lines, products = demo_run.lines, demo_run.folder / "products"
    done = one(lines, r"done: (\d+) events recorded, \d+ products sent, (\d+) dead letter\(s\)\.")
    seen = {
        "notices": int(one(lines, r"notices read back from the broker: (\d+) -> .*")[1]),
        "voevents": int(one(lines, r"VOEvents read back from the broker: (\d+) -> .*")[1]),
        "skymaps": sum(1 for line in lines if line.startswith("skymap IceCube-")),
        "drafts": int(one(lines, r"(\d+) Circular draft\(s\) await approval .*")[1]),
        "events": int(done[1]),
        "dead_letters": int(done[2]),
        "alerts": sum(1 for line in lines if re.match(r"IceCube-\d{6}[A-Z]+ .* localized ", line)),
    }
    assert seen == promised(), "docs/acceptance.md's demo numbers differ from a real demo run"
    assert len(list(products.glob("*.notice.json"))) == seen["notices"]
    assert len(list(products.glob("*.voevent.xml"))) == seen["voevents"]
    assert any("dead letter" in line and "alert.signalness" in line for line in lines)


def test_every_file_the_demo_writes_is_explained(demo_run: DemoRun) -> None:
    folder = demo_run.folder
    explained = {pattern.split("/")[0] for pattern, _meaning in LEGEND}
    for entry in folder.iterdir():
        name = re.sub(r"-(wal|shm|journal)$", "", entry.name)  # SQLite's own files beside a store
        assert name in explained, f"{entry.name} in the demo folder is not in the legend"
    assert (folder / MARKER).is_file()
    readme = (folder / "README.txt").read_text()
    assert all(pattern in readme for pattern, _meaning in LEGEND)
    for product in (folder / "products").iterdir():
        assert PRODUCT_FILE.match(product.name), f"{product.name}: not named as the legend says"
    legend_at = demo_run.lines.index(f"files in {folder} (also in its README.txt):")
    assert all(any(p in line for line in demo_run.lines[legend_at:]) for p, _ in LEGEND)


@dataclass(frozen=True)
class HintRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def hint_runs(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> list[HintRun]:
    """The demo's "Inspect with:" commands, each run as printed (started together, waited for together)."""
    start = demo_run.lines.index("Inspect with:")
    hints = [line.strip() for line in demo_run.lines[start + 1 :] if line.startswith("  ")]
    assert len(hints) == 3, demo_run.lines[start:]
    home = tmp_path_factory.mktemp("hint-home")
    # as after README command 1: the venv is not on PATH, and the shell is somewhere else
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    started = []
    for hint in hints:
        argv = shlex.split(hint)
        assert Path(argv[0]).is_absolute(), hint
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=home
        )
        started.append((argv, process))
    runs = []
    try:
        for argv, process in started:
            stdout, stderr = process.communicate(timeout=scaled(120))
            runs.append(HintRun(argv, process.returncode, stdout, stderr))
    finally:  # one stuck: none left behind
        for _argv, process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    return runs


def test_its_inspect_hints_run_as_printed(demo_run: DemoRun, hint_runs: list[HintRun]) -> None:
    names = {line.split()[0] for line in demo_run.lines if re.match(r"IceCube-\d{6}[A-Z]+ ", line)}
    assert [run.argv[-2:] for run in hint_runs] == [
        ["alerts", "list"],
        ["circular", "list"],
        ["scans", "list"],
    ]
    for run in hint_runs:
        assert run.returncode == 0, f"{shlex.join(run.argv)}: {run.stderr}"
        if run.argv[-2:] == ["alerts", "list"]:
            assert names and all(name in run.stdout for name in names), run.stdout


def test_alerts_list_shows_the_published_revision_not_a_held_approximation(
    demo_run: DemoRun, hint_runs: list[HintRun]
) -> None:
    url = f"sqlite:///{demo_run.folder / 'skymist-demo.sqlite'}"
    base = [sys.executable, "-m", "skymist.cli.main", "--database-url", url, "alerts", "list"]
    listing = json.loads(subprocess.run([*base, "--json"], capture_output=True, check=True).stdout)
    named = [a for a in listing["alerts"] if a["name"]]
    assert named
    for alert in named:
        statuses = {r["revision"]: r["status"] for r in alert["revisions"]}
        assert statuses == {0: "published", 1: "held"}, (alert["name"], statuses)
        assert alert["published_revision"] == 0
    # the table: the output of the demo's own "alerts list" hint (the same command, run as printed)
    [listed] = [run for run in hint_runs if run.argv[-2:] == ["alerts", "list"]]
    assert listed.argv[-4:-2] == ["--database-url", url], listed.argv
    table = listed.stdout.splitlines()
    assert table[0].split()[:6] == ["NAME", "RUN_EVENT", "STREAM", "STATE", "EVENT", "TIME"]
    for alert in named:
        [row] = [line for line in table if line.startswith(alert["name"] + " ")]
        rev0 = alert["revisions"][0]
        # the REV column, then Rev 0's position (never the held Rev 1's), then what is held
        assert f" 0 {rev0['ra_deg']:8.3f} {rev0['dec_deg']:+8.3f}  1 held" in row, row


def test_the_output_comes_one_whole_line_at_a_time(demo_run: DemoRun) -> None:
    progress = [line for line in demo_run.lines if "progress:" in line]
    assert progress
    for line in progress:
        assert re.fullmatch(r"      progress: \d+/\d+ messages recorded, \d+ products sent", line), line
    for line in demo_run.lines:
        assert line.count("[") < 2 or not re.search(r"\[\d/6\].*\[\d/6\]", line), line
        assert "scans:" not in line or line.startswith("      scans: "), line


def test_its_circulars_carry_the_gamma_ray_sentence(demo_run: DemoRun) -> None:
    """Out of the box (no gamma_catalogue_path) every track Circular names the shipped 4FGL-DR4 sources
    inside its 90% region, or says there are none and names the nearest."""
    import sqlite3

    with sqlite3.connect(demo_run.folder / "skymist-demo.sqlite") as db:
        bodies = [row[0] for row in db.execute("SELECT body FROM circulars WHERE kind = 'track'")]
    assert bodies
    sentence = re.compile(
        r"(There are no Fermi 4FGL-DR4 catalog sources in the 90% uncertainty region of the event\. "
        r"The nearest gamma-ray source in the catalog is 4FGL J\d{4}\.\d[+-]\d{4}"
        r"|The Fermi 4FGL-DR4 catalog source 4FGL J\d{4}\.\d[+-]\d{4}"
        r"|There are \d+ Fermi 4FGL-DR4 catalog sources located within the 90% uncertainty region)"
    )
    for body in bodies:
        assert sentence.search(body), body
