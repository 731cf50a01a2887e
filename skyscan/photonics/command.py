"""``skyscan tables build`` / ``tables info``: rebuild the photon tables, or show where they came from."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from skyscan.argument_types import positive_int

TABLES_DESCRIPTION = """\
The photon tables of an infinite muon track: the expected photoelectrons of a DOM and the PDF of its
photons' arrival-time residual (arrival minus the direct Cherenkov time), by the DOM's distance from
the track, the angle at which the direct light reaches its PMT, and the depth. They come from a photon
Monte Carlo in the layered ice (skyscan/photonics: Cherenkov light of the muon and of its showers,
SL+HG scattering, the shipped ice table, the DOM's effective area and angular acceptance), smoothed by
splines, and ship as package data with their provenance."""

BUILD_DESCRIPTION = """\
Run the photon Monte Carlo at each table depth for both light components (the bare muon's Cherenkov
light, and the light of its electromagnetic losses), smooth the histograms and write the tables with
their provenance (ice table and its SHA-256, photon counts, seed, code digest, date, what the model
leaves out). Progress goes to stderr, one line per depth and component; a JSON summary to stdout.

Run time grows linearly with --photons x the number of depths: on this project's 2-core development
machine (numba on both cores, nice 10, the machine shared), the default 100,000 photons x 21 depths x
2 components (4.2 million photons) takes about 5 minutes, plus ~15 s to compile the kernel the first
time (see README, "skyscan's photon tables"). Errors of the expected photoelectrons scale as
1/sqrt(photons) (about 2% per bin at 50 m with the default); 20,000 photons is enough to try it."""

BUILD_EPILOG = """\
examples:
  skyscan tables build                                 # rebuild the shipped tables (default --out)
  nice -n 10 skyscan tables build --photons 20000 --out /tmp/tables.npz --depth-step 100
  skyscan tables info --tables /tmp/tables.npz"""


def _photons(text: str) -> int:
    value = positive_int(text)
    if value < 1000:
        raise argparse.ArgumentTypeError(
            f"at least 1000 photons per depth (16 batches need them), got {value}"
        )
    return value


def _depth_step(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected metres, got {text!r}") from None
    if not 10.0 <= value <= 1000.0:
        raise argparse.ArgumentTypeError(f"must be between 10 and 1000 m, got {value:g}")
    return value


def default_tables_path() -> Path:
    from skyscan.photonics.tables import PACKAGED_NAME

    return Path(__file__).resolve().parent / "data" / PACKAGED_NAME


def add_tables_command(sub: Any) -> None:
    """Add ``tables build`` and ``tables info`` to the ``skyscan`` subparsers."""
    tables = sub.add_parser(
        "tables",
        help="photon tables: rebuild them from the photon Monte Carlo, or show their provenance",
        description=TABLES_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = tables.add_subparsers(dest="tables_command", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="run the photon Monte Carlo and write the smoothed tables",
        description=BUILD_DESCRIPTION,
        epilog=BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "--photons",
        type=_photons,
        default=None,
        metavar="N",
        help="photons per depth and light component (default 100000)",
    )
    build.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write the .npz (default: the packaged skyscan/photonics/data/track_tables.npz)",
    )
    build.add_argument("--seed", type=positive_int, default=None, help="random seed (default 20261207)")
    build.add_argument(
        "--depth-step",
        type=_depth_step,
        default=50.0,
        metavar="M",
        help="table depths every M metres from 1450 to 2450 m (default 50: 21 depths)",
    )
    build.add_argument(
        "--threads", type=positive_int, default=None, metavar="N", help="numba threads (default: all cores)"
    )
    build.set_defaults(handler=_cmd_build)
    info = actions.add_parser("info", help="print the tables' provenance (JSON)")
    info.add_argument(
        "--tables", type=Path, default=None, metavar="PATH", help="default: the packaged tables"
    )
    info.set_defaults(handler=_cmd_info)


def _cmd_build(args: argparse.Namespace) -> int:
    import numpy as np

    from skyscan.photonics.build import DEFAULT_PHOTONS, DEFAULT_SEED, build_tables

    out: Path = args.out or default_tables_path()
    if out.exists() and out.is_dir():
        print(f"skyscan tables build: --out {out} is a directory; give a file path (.npz)", file=sys.stderr)
        return 2
    if out.suffix != ".npz":
        print(f"skyscan tables build: --out must end in .npz, got {out}", file=sys.stderr)
        return 2
    depths = tuple(float(d) for d in np.arange(1450.0, 2450.0 + 1e-6, args.depth_step))
    photons = args.photons or DEFAULT_PHOTONS
    started = time.monotonic()

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    print(
        f"skyscan tables build: {photons} photons x {len(depths)} depths x 2 components -> {out}",
        file=sys.stderr,
        flush=True,
    )
    tables = build_tables(
        photons, depths_m=depths, seed=args.seed or DEFAULT_SEED, threads=args.threads, progress=progress
    )
    try:
        tables.save(out)
    except OSError as exc:
        print(f"skyscan tables build: cannot write {out}: {exc}", file=sys.stderr)
        return 1
    summary = {
        "out": str(out),
        "bytes": out.stat().st_size,
        "photons_per_depth_and_component": photons,
        "depths": len(depths),
        "seconds": round(time.monotonic() - started, 1),
        "borrowed_time_cells": tables.provenance["smoothing"]["borrowed_time_cells"],
    }
    print(json.dumps(summary))
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from skyscan.photonics.tables import PhotonTables, TablesError

    try:
        tables = PhotonTables.load(args.tables)
    except TablesError as exc:
        print(f"skyscan tables info: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(tables.provenance, indent=2, sort_keys=True))
    return 0
