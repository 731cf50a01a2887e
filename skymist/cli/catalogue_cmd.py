"""``skymist catalogue export|site|serve``: the alert catalogue.

skymist catalogue export --format csv|fits|votable|parquet [--all-revisions] [--output FILE]
skymist catalogue site [--output DIR]       the static HTML catalogue (with JSON-LD)
skymist catalogue serve [--host H --port P] a static archive without a daemon: the IVOA Simple Cone
                                            Search (GET /scs?RA=&DEC=&SR=) and the pages (/catalogue/)
skymist catalogue gamma refresh FILE --release NAME [--output F]   the Circular's 4FGL table from a FITS
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skymist.archive.formats import FORMATS
from skymist.cli.common import SubParsers, UserError, opened_app, port_number, run_guarded
from skymist.cli.gamma_cmd import register_gamma


def _export(args: argparse.Namespace) -> int:
    from skymist.archive.catalogue import catalogue_rows, export, snapshots
    from skymist.files import write_atomic

    with opened_app(args) as app, app.sessions() as session:
        rows = catalogue_rows(app.settings, snapshots(session), all_revisions=args.all_revisions)
    data = export(rows, args.format)
    if args.output is None:
        if args.format != "csv" and sys.stdout.isatty():
            raise UserError(f"--format {args.format} is binary: give --output FILE")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomic(args.output, data)
        print(f"{len(rows)} row(s) written to {args.output}", file=sys.stderr)
    return 0


def _site(args: argparse.Namespace) -> int:
    from skymist.archive.site import write_site

    with opened_app(args) as app:
        outcome = write_site(app.settings, app.sessions, args.output)
    print(
        f"{outcome.pages} page(s) in {outcome.folder}: {len(outcome.written)} file(s) written, "
        f"{outcome.unchanged} unchanged"
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from skymist.runtime.http_app import HttpParts, create_http_app

    parts = HttpParts(ops=False, cone_search=True, catalogue=True, console=False)
    with opened_app(args) as app:
        uvicorn.run(  # log_config None: its lines go through the JSON log, not uvicorn's coloured one
            create_http_app(app, parts), host=args.host, port=args.port, log_level="warning", log_config=None
        )
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("catalogue", help="the alert catalogue: export, static HTML site, cone search")
    actions = parser.add_subparsers(dest="catalogue_action", metavar="ACTION", required=True)
    exp = actions.add_parser("export", help="IceCat-1 columns plus areas, revision, DOI, skymap URLs")
    exp.add_argument("--format", choices=FORMATS, default="csv", help="default: csv")
    exp.add_argument("--all-revisions", action="store_true", help="one row per revision (default: latest)")
    exp.add_argument("--output", type=Path, metavar="FILE", help="default: standard output")
    exp.set_defaults(handler=run_guarded(_export))
    site = actions.add_parser("site", help="write the static HTML catalogue (regenerates what changed)")
    site.add_argument("--output", type=Path, metavar="DIR", help="default: <archive_dir>/site")
    site.set_defaults(handler=run_guarded(_site))
    serve = actions.add_parser(
        "serve",
        help="serve the cone search (/scs) and the pages (/catalogue/) without a daemon (the daemon "
        "serves both on its HTTP port)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=8090)
    serve.set_defaults(handler=run_guarded(_serve))
    register_gamma(actions)  # catalogue gamma refresh FILE: the Circular's 4FGL table
