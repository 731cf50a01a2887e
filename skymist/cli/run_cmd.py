"""``skymist run``: the daemon."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from skymist.app import App
from skymist.cli.common import SubParsers, opened_app, run_guarded
from skymist.kafka_clients import make_consumer
from skymist.metrics import serve_metrics
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.scans.backend import make_scanner_client
from skymist.scans.handoff import Handoff
from skymist.scans.scheduler import localize_consumer, start_background_jobs
from skymist.scans.tracker import ScanTracker
from skymist.service import Daemon
from skymist.store.db import upgrade


def _run(args: argparse.Namespace) -> int:
    with opened_app(args, check_schema=not args.migrate) as app:
        if args.migrate:
            upgrade(app.engine)
        if args.metrics_port is not None:
            serve_metrics(app.metrics, "127.0.0.1", args.metrics_port)
        daemon = Daemon(
            app, make_consumer(app.settings), Dispatcher(app, build_sinks(app.settings)), scan_jobs(app)
        )
        daemon.install_signal_handlers()
        return daemon.run()


def scan_jobs(app: App) -> Callable[[], Any] | None:
    """The scan tracker and hand-off, started by the daemon (None when scans are disabled)."""
    if not app.settings.scans_enabled:
        return None
    consumers = [c for c in (localize_consumer(),) if c is not None]

    def start() -> Any:
        return start_background_jobs(
            app, ScanTracker(app, make_scanner_client(app.settings)), Handoff(app, consumers)
        )

    return start


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "run",
        help="run the daemon (consume, record, publish)",
        description=(
            "Consume the realtime topics, record every message in the store, and send every queued "
            "product. SIGTERM finishes the batch in hand, commits and exits 0; a second SIGTERM exits at "
            "once. Run several daemons against one PostgreSQL for high availability."
        ),
    )
    parser.add_argument("--migrate", action="store_true", help="apply pending schema migrations first")
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on 127.0.0.1:PORT")
    parser.set_defaults(handler=run_guarded(_run))
