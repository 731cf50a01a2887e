"""``skymist replay``: files/folders, or a Kafka topic from an offset or a time."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter

from skymist.cli.common import SubParsers, UserError, opened_app, print_json, run_guarded
from skymist.ingest.inbox import IngestResult
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.replay import ReplayError, replay_files, replay_topic


def _progress(done: int, total: int | None) -> None:
    if sys.stderr.isatty() or done == total:
        print(
            f"\rreplayed {done}/{total if total is not None else '?'}",
            end="\n" if done == total else "",
            file=sys.stderr,
            flush=True,
        )


def _replay(args: argparse.Namespace) -> int:
    if args.topic and args.paths:
        raise UserError("give PATH... or --topic, not both")
    if not args.topic and not args.paths:
        raise UserError("give files/folders to replay, or --topic with --from-offset or --from-time")
    if args.paths and (args.from_offset is not None or args.from_time is not None):
        raise UserError("--from-offset and --from-time go with --topic")
    from_time = None
    if args.from_time:
        try:
            from_time = dt.datetime.fromisoformat(args.from_time.replace("Z", "+00:00"))
        except ValueError:
            raise UserError(
                f"--from-time {args.from_time!r} is not an ISO 8601 time like 2026-11-21T10:00:00Z"
            ) from None
    with opened_app(args) as app:
        try:
            if args.topic:
                results: list[IngestResult] = replay_topic(
                    app,
                    args.topic,
                    from_offset=args.from_offset,
                    from_time=from_time,
                    partitions=args.partition,
                    progress=_progress,
                )
            else:
                results = replay_files(app, args.paths, progress=_progress)
        except ReplayError as exc:
            raise UserError(str(exc)) from None
        sent = None
        if args.send:
            dispatcher = Dispatcher(app, build_sinks(app.settings))
            try:
                sent = dispatcher.drain(timeout_s=120)
            finally:
                dispatcher.close()
    counts = Counter(r.status for r in results)
    if args.json:
        print_json(
            {
                "counts": dict(counts),
                "results": [
                    {"source": r.source, "status": r.status, "summary": r.summary, "alert_id": r.alert_id}
                    for r in results
                ],
                **({"sent": sent.sent, "dead": sent.dead} if sent else {}),
            }
        )
    else:
        for r in results:
            print(f"{r.status:<12} {r.source}: {r.summary}")
        print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to replay")
        if sent:
            print(f"sent {sent.sent} product(s), {sent.dead} given up")
    return 1 if counts.get("dead_letter") else 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "replay",
        help="replay messages from files/folders or a Kafka topic",
        description=(
            "Feed messages through the same inbox and handlers as the daemon. Idempotent: a message "
            "already recorded is recognised. Queued products are sent by a running daemon, or now "
            "with --send. Exit code 1 if any message was dead-lettered."
        ),
        epilog="examples:\n  skymist replay events/ run00136662.json\n"
        "  skymist replay --topic icecube.realtime.events --from-offset 0\n"
        "  skymist replay --topic icecube.realtime.events --from-time 2026-11-21T00:00:00Z --send",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="message files (.json, .jsonl) or folders")
    parser.add_argument("--topic", help="replay this Kafka topic instead of files")
    parser.add_argument("--from-offset", type=int, help="start offset in every chosen partition")
    parser.add_argument("--from-time", help="start at messages produced at/after this ISO time (with zone)")
    parser.add_argument("--partition", type=int, action="append", help="only this partition (repeatable)")
    parser.add_argument("--send", action="store_true", help="send the queued products now")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run_guarded(_replay))
