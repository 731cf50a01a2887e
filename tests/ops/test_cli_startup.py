"""The CLI starts at once: building the parser and every help page loads none of the heavy libraries
(they are imported inside the commands that need them). Run in a fresh interpreter, as an operator's
``skymist --help`` is: the test process itself has loaded them all long ago."""

from __future__ import annotations

import json
import subprocess
import sys

from skymist.runtime.check_names import CHECK_NAMES
from skymist.runtime.checks import CHECKS

#: libraries whose import alone takes seconds on a loaded machine (skymaps, pictures, tables)
HEAVY = ("astropy", "matplotlib", "healpy", "scipy", "ligo", "pandas", "pyarrow")

EVERY_HELP_PAGE = """
import argparse, json, sys
from skymist.cli.main import build_parser

def pages(parser):
    yield parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from pages(sub)

count = sum(1 for _ in pages(build_parser()))
print(json.dumps({"pages": count, "modules": sorted(sys.modules)}))
"""


def test_every_help_page_loads_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", EVERY_HELP_PAGE], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout)
    assert result["pages"] >= 40, result["pages"]  # every group and sub-command was rendered
    loaded = {name.split(".")[0] for name in result["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_main_help_runs_without_them() -> None:
    """``skymist --help`` itself (argparse prints and exits 0), in a fresh interpreter."""
    script = (
        "import sys\nfrom skymist.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))\n"
        "print('HEAVY', code, ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *HEAVY], capture_output=True, text=True, timeout=120, check=True
    )
    assert "usage: skymist" in done.stdout and "--log-format" in done.stdout, done.stdout[:500]
    assert done.stdout.splitlines()[-1] == "HEAVY 0 ", done.stdout[-500:]


def test_the_check_names_of_the_help_are_the_checks() -> None:
    assert tuple(CHECKS) == CHECK_NAMES
