"""How long an operator waits for ``skymist --help`` (and, with --subcommands, every sub-command's
``--help``): the wall time of the installed command, run --repeat times in fresh processes.

Prints one JSON line: median, min and max in milliseconds per command line, the load average when
it began and ended (timings on a loaded machine are not comparable), and the command measured.
``--skymist PATH`` measures another installation (e.g. an older worktree's venv).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: the sub-commands whose help is measured with --subcommands
SUBCOMMANDS = ("run", "status", "alerts list", "config", "skymap analyze", "demo", "replay", "check")


def wall_ms(argv: list[str], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000.0)
    return {
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="wall time of `skymist --help` in fresh processes")
    parser.add_argument("--repeat", type=int, default=5, help="runs per command line (default 5)")
    parser.add_argument(
        "--skymist",
        default=str(Path(sys.executable).with_name("skymist")),
        help="the skymist executable (default: the one beside this Python)",
    )
    parser.add_argument("--subcommands", action="store_true", help="also time sub-commands' --help")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: give 1 or more")
    lines = [""] + (list(SUBCOMMANDS) if args.subcommands else [])
    load_before = os.getloadavg()[0]
    wall_ms([args.skymist, "--help"], 1)  # the first run fills the file cache: not counted
    results = {
        f"skymist {line} --help".replace("  ", " "): wall_ms(
            [args.skymist, *line.split(), "--help"], args.repeat
        )
        for line in lines
    }
    document = {
        "benchmark": "cli_startup",
        "skymist": args.skymist,
        "repeat": args.repeat,
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "results": results,
    }
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
