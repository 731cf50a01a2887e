"""``skymist demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from skymist.cli.common import SubParsers, run_guarded


def _demo(args: argparse.Namespace) -> int:
    from skymist.runtime.demo import run_demo

    result = run_demo(Path(args.dir), n_alerts=args.alerts)
    return 0 if result.alerts == args.alerts + 1 and result.dead_letters == 1 else 1


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "demo",
        help="run the prompt path end to end on an embedded default (no services needed)",
        description=(
            "Start a Kafka-protocol broker in this process, a SQLite store in DIR, produce a handful "
            "of realistic alerts (and one bare event, one malformed message), run the daemon over them "
            "and print the alerts, notices, VOEvents and Slack messages. Everything is local."
        ),
    )
    parser.add_argument(
        "--dir", default="skymist-demo", help="work folder, recreated (default ./skymist-demo)"
    )
    parser.add_argument("--alerts", type=int, default=5, help="how many classified alerts (default 5)")
    parser.set_defaults(handler=run_guarded(_demo))
