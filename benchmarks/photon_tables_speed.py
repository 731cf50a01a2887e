"""How fast the photon tables' evaluators are: one call for 5000 DOMs, per evaluator (JSON on stdout).

    python benchmarks/photon_tables_speed.py [--doms 5000] [--repeats 50] [--tables PATH]

Each evaluator is called with arrays of ``--doms`` random DOM positions (distance 1-300 m, any angle,
depth 1450-2450 m, energy 1-100 TeV, residual 0-1000 ns); the median and 90th percentile of the
per-call wall time (ms) over ``--repeats`` calls, after one warm-up call, are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skyscan.photonics.tables import PhotonTables  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--doms", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--tables", type=Path, default=None)
    args = parser.parse_args()
    tables = PhotonTables.load(args.tables)
    rng = np.random.default_rng(0)
    n = args.doms
    distance = rng.uniform(1.0, 300.0, n)
    angle = np.arccos(rng.uniform(-1.0, 1.0, n))
    depth = rng.uniform(1450.0, 2450.0, n)
    energy = 10.0 ** rng.uniform(3.0, 5.0, n)
    residual = rng.uniform(0.0, 1000.0, n)
    calls: dict[str, Callable[[], object]] = {
        "expected_pe": lambda: tables.expected_pe(distance, angle, depth, energy),
        "time_pdf": lambda: tables.time_pdf(residual, distance, angle, depth),
        "time_cdf": lambda: tables.time_cdf(residual, distance, angle, depth),
        "time_pdf_with_energy_mix": lambda: tables.time_pdf(residual, distance, angle, depth, energy),
    }
    out: dict[str, object] = {"doms": n, "repeats": args.repeats}
    for name, call in calls.items():
        call()
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1e3)
        out[name] = {
            "median_ms": round(float(np.median(times)), 3),
            "p90_ms": round(float(np.percentile(times, 90)), 3),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
