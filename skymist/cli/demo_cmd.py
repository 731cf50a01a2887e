"""``skymist demo``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from skymist.cli.common import SubParsers, UserError, run_guarded

#: ``--alerts``: the demo scans every alert on this machine, so a few are enough
MAX_ALERTS = 20


def alert_count(text: str) -> int:
    """An argparse type: ``--alerts``, a whole number from 1 to :data:`MAX_ALERTS`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give 1 to {MAX_ALERTS}") from None
    if not 1 <= value <= MAX_ALERTS:
        raise argparse.ArgumentTypeError(f"{value} is out of range; give 1 to {MAX_ALERTS}")
    return value


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the demo as Ctrl-C does: KeyboardInterrupt, so every ``with`` block
    (the skyscan child, the daemon's jobs, the store) cleans up on the way out."""

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _demo(args: argparse.Namespace) -> int:
    from skymist.runtime.demo import run_demo
    from skymist.runtime.demo_folder import DemoFolderError

    with _stop_signals_interrupt():
        try:
            result = run_demo(Path(args.dir), n_alerts=args.alerts, force=args.force)
        except DemoFolderError as exc:
            raise UserError(str(exc)) from None
    if result.alerts == args.alerts + 1 and result.dead_letters == 1:
        return 0
    print(
        f"skymist: error: the demo recorded {result.alerts} events and {result.dead_letters} dead "
        f"letter(s), expected {args.alerts + 1} and 1 (see the output above)",
        file=sys.stderr,
    )
    return 1


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
        "--dir",
        default="skymist-demo",
        help="work folder (default ./skymist-demo): created if missing; one an earlier demo made (it "
        "holds a .skymist-demo file) is deleted and recreated; any other non-empty folder is refused "
        "unless --force",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="delete a non-empty --dir that the demo did not make, and everything in it (never the "
        "root, your home folder or the current folder)",
    )
    parser.add_argument(
        "--alerts",
        type=alert_count,
        default=5,
        help=f"how many classified alerts, 1 to {MAX_ALERTS} (default 5)",
    )
    parser.set_defaults(handler=run_guarded(_demo))
