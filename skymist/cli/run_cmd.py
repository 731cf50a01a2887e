"""``skymist run``: the daemon, with all its jobs or the ones named by ``--jobs``."""

from __future__ import annotations

import argparse
import os

from skymist.cli.common import SubParsers, UserError, opened_app, run_guarded
from skymist.runtime.daemon import Daemon
from skymist.runtime.jobs import (
    DESCRIPTIONS,
    UnknownJobError,
    default_jobs,
    make_jobs,
    parse_jobs,
    standard_inputs,
)
from skymist.store.db import upgrade


def _run(args: argparse.Namespace) -> int:
    with opened_app(args, check_schema=not args.migrate) as app:
        try:
            names = parse_jobs(args.jobs) if args.jobs else default_jobs(app)
        except UnknownJobError as exc:
            raise UserError(str(exc)) from None
        if args.migrate:
            upgrade(app.engine)
        if args.metrics_port is not None:  # before the jobs: /healthz answers from the first second
            from skymist.metrics import serve_metrics
            from skymist.runtime.checks import Readiness

            host = args.metrics_host or app.settings.metrics_host
            try:
                about = {"pid": os.getpid(), "jobs": [name.value for name in names]}
                serve_metrics(app.metrics, host, args.metrics_port, Readiness(app), about)
            except OSError as exc:
                raise UserError(
                    f"--metrics-port {args.metrics_port}: cannot listen on {host}:{args.metrics_port}: "
                    f"{exc.strerror or exc} (another daemon holds it? choose another port)"
                ) from None
        try:
            jobs = make_jobs(names, standard_inputs(app))
        except UnknownJobError as exc:
            raise UserError(str(exc)) from None
        daemon = Daemon(app, jobs)
        daemon.install_signal_handlers()
        return daemon.run()


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
        "--metrics-port", type=int, help="serve /metrics (Prometheus), /healthz and /readyz on PORT"
    )
    parser.add_argument("--metrics-host", help="listen address of --metrics-port (default: metrics_host)")
    parser.add_argument(
        "--jobs",
        metavar="LIST",
        help="comma-separated jobs to run, e.g. ingest,dispatch (default: all; scans and handoff only "
        "when scans are enabled)",
    )
    parser.set_defaults(handler=run_guarded(_run))
