"""``skymist catalogue gamma refresh FILE``: the Circular's gamma-ray catalogue from a newer 4FGL release.

Converts a local 4FGL-layout FITS file (``gll_psc_v*.fit``: ``Source_Name``, ``RAJ2000``, ``DEJ2000``,
``ASSOC1``, ``CLASS1``) into SkyMist's compact table, its provenance (file, sha256, rows, header date) in
``#`` lines. Without ``--output`` it replaces the table shipped in the installed package (a source checkout:
commit the change); with ``--output`` it writes elsewhere, for ``gamma_catalogue_path``. Nothing is fetched.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import Any

from skymist.cli.common import UserError, run_guarded


def _shipped_path() -> Path:
    from skymist.circulars.catalogue import SHIPPED_FILE

    return Path(str(resources.files("skymist.circulars").joinpath("data").joinpath(SHIPPED_FILE)))


def _refresh(args: argparse.Namespace) -> int:
    from skymist.circulars.catalogue import CatalogueError, load_catalogue, write_compact
    from skymist.files import write_atomic

    if not args.file.is_file():
        raise UserError(
            f"FILE {str(args.file)!r}: no such file (a local 4FGL FITS table, e.g. gll_psc_v35.fit)"
        )
    try:
        data = write_compact(args.file, args.release)
    except CatalogueError as exc:
        raise UserError(str(exc)) from None
    target = args.output or _shipped_path()
    write_atomic(target, data)
    written = load_catalogue(target)  # read back as the daemon will
    print(f"{len(written.names)} sources of {args.release} written to {target} ({len(data)} bytes)")
    return 0


def register_gamma(actions: Any) -> None:
    """Add ``gamma refresh`` to the ``catalogue`` actions."""
    gamma = actions.add_parser("gamma", help="the Circular's gamma-ray catalogue (Fermi 4FGL)")
    gamma_actions = gamma.add_subparsers(dest="gamma_action", metavar="ACTION", required=True)
    refresh = gamma_actions.add_parser(
        "refresh",
        help="convert a local 4FGL FITS release into the compact table the Circulars use",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    refresh.add_argument("file", type=Path, metavar="FILE", help="the 4FGL FITS table, e.g. gll_psc_v35.fit")
    refresh.add_argument(
        "--release", required=True, help="the release's name as the table records it, e.g. '4FGL-DR4 (v35)'"
    )
    refresh.add_argument(
        "--output", type=Path, metavar="TABLE.csv.gz", help="default: the table shipped in the package"
    )
    refresh.set_defaults(handler=run_guarded(_refresh))
