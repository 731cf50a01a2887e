"""``skymist run``: the daemon, with all its jobs or the ones named by ``--jobs``."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from skymist.cli.common import SubParsers, UserError, opened_app, port_number, run_guarded
from skymist.runtime.job_names import DESCRIPTIONS, JobName

if TYPE_CHECKING:
    from skymist.app import App
    from skymist.runtime.http_server import HttpServer


def _run(args: argparse.Namespace) -> int:
    from skymist.runtime.daemon import Daemon
    from skymist.runtime.jobs import UnknownJobError, default_jobs, make_jobs, parse_jobs, standard_inputs
    from skymist.store.db import upgrade

    with opened_app(args, check_schema=not args.migrate) as app:
        from skymist.runtime.error_reports import start_error_reports

        start_error_reports(app.settings)  # Sentry, when sentry_dsn is set
        try:
            names = parse_jobs(args.jobs) if args.jobs else default_jobs(app)
        except UnknownJobError as exc:
            raise UserError(str(exc)) from None
        if args.migrate:
            upgrade(app.engine)
        server = _serve_http(app, args, names)  # before the jobs: /healthz answers from the first second
        try:
            try:
                jobs = make_jobs(names, standard_inputs(app, http=server))
            except UnknownJobError as exc:
                raise UserError(str(exc)) from None
            daemon = Daemon(app, jobs)
            daemon.install_signal_handlers()
            return daemon.run()
        finally:
            if server is not None:
                server.stop()


def _serve_http(app: App, args: argparse.Namespace, names: list[JobName]) -> HttpServer | None:
    """The daemon's one HTTP port (:mod:`skymist.runtime.http_app`), listening; None when it has none."""
    from skymist.runtime.checks import Readiness
    from skymist.runtime.http_app import HttpParts, create_http_app, http_address
    from skymist.runtime.http_server import HttpServer

    console = JobName.CONSOLE in names
    address = http_address(app.settings, port=args.http_port, host=args.http_host, console=console)
    parts = HttpParts.from_settings(app.settings, console=console)
    if address is None or not parts.names():
        return None
    host, port = address
    about = {"pid": os.getpid(), "jobs": [name.value for name in names], "http": parts.names()}
    ready = Readiness(app) if parts.ops else None
    server = HttpServer(create_http_app(app, parts, ready=ready, about=about), host, port)
    try:
        server.start()
    except OSError as exc:
        raise UserError(
            f"HTTP port {host}:{port}: {exc.strerror or exc} (another daemon holds it? choose another "
            "port: --http-port, http_port)"
        ) from None
    return server


def register(sub: SubParsers) -> None:
    jobs = "\n".join(f"  {name.value:<9} {text}" for name, text in DESCRIPTIONS.items())
    parser = sub.add_parser(
        "run",
        help="run the daemon (consume, record, publish, scan)",
        description=(
            "Consume the realtime topics, record every message in the store, send every queued product, "
            "and track the scans. SIGTERM finishes the work in hand, commits and exits 0; a second SIGTERM "
            "exits at once. Several daemons can share one PostgreSQL: for high availability (each runs "
            "every job) or to share the load (each runs some jobs).\n\njobs:\n" + jobs
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--migrate", action="store_true", help="apply pending schema migrations first")
    parser.add_argument(
        "--http-port",
        "--metrics-port",
        dest="http_port",
        type=port_number,
        metavar="PORT",
        help="the daemon's one HTTP port (default: http_port): /metrics, /healthz, /readyz, /scs, "
        "/catalogue/ and the console, each as its setting says",
    )
    parser.add_argument(
        "--http-host", "--metrics-host", dest="http_host", help="its listen address (default: metrics_host)"
    )
    parser.add_argument(
        "--jobs",
        metavar="LIST",
        help="comma-separated jobs to run, e.g. ingest,dispatch (default: all; scans and handoff only "
        "when scans are enabled)",
    )
    parser.set_defaults(handler=run_guarded(_run))
