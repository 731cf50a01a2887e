"""``skymist replay``: files/folders, or a Kafka topic from an offset or a time."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skymist.app import App
    from skymist.ingest.inbox import IngestResult
    from skymist.outbox.dispatcher import DispatchStats


from skymist.cli.common import SubParsers, UserError, opened_app, print_json, run_guarded


def _progress(done: int, total: int | None) -> None:
    if sys.stderr.isatty() or done == total:
        print(
            f"\rreplayed {done}/{total if total is not None else '?'}",
            end="\n" if done == total else "",
            file=sys.stderr,
            flush=True,
        )


def _replay(args: argparse.Namespace) -> int:
    from_time = _checked_arguments(args)
    with (
        opened_app(args, check_schema=not args.dry_run, alert_tense=args.tense) as real,
        _dry_run_app(real, args.dry_run) as app,
    ):
        results = _replayed(app, args, from_time)
        if not args.dry_run:  # every recorded alert gets its record, sent or not (written before exit)
            from skymist.archive.hooks import write_records_of

            write_records_of(
                app.outbox_hooks, [r.alert_id for r in results if r.status == "processed" and r.alert_id]
            )
        sent = _send_all(app) if args.send else None
        produced = _products(app) if args.dry_run else []
    counts: Counter[str] = Counter(r.status for r in results)
    if args.dry_run:
        return _print_dry_run(args, results, counts, produced)
    _print_results(args, results, counts, sent)
    return 1 if counts.get("dead_letter") else 0


def _checked_arguments(args: argparse.Namespace) -> dt.datetime | None:
    """Refuse contradictory arguments; the ``--from-time`` given, parsed (None without one)."""
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
    if args.tense == "current" and not args.yes:
        raise UserError(
            "--tense current publishes the replayed events as real, current alerts; give --yes to go ahead "
            "(or --tense archival / test)"
        )
    if args.dry_run and args.send:
        raise UserError("--dry-run writes and sends nothing: leave out --send")
    return from_time


def _replayed(app: App, args: argparse.Namespace, from_time: dt.datetime | None) -> list[IngestResult]:
    """Replay the topic or the files the arguments name."""
    from skymist.runtime.replay import ReplayError, replay_files, replay_topic

    try:
        if args.topic:
            return replay_topic(
                app,
                args.topic,
                from_offset=args.from_offset,
                from_time=from_time,
                partitions=args.partition,
                progress=_progress,
            )
        return replay_files(app, args.paths, progress=_progress)
    except ReplayError as exc:
        raise UserError(str(exc)) from None


def _send_all(app: App) -> DispatchStats:
    """``--send``: dispatch what the replay queued (two minutes at most)."""
    from skymist.outbox.dispatcher import Dispatcher
    from skymist.outbox.sinks.factory import build_sinks

    dispatcher = Dispatcher(app, build_sinks(app.settings))
    try:
        return dispatcher.drain(timeout_s=120)
    finally:
        dispatcher.close()


def _print_results(
    args: argparse.Namespace, results: list[IngestResult], counts: Counter[str], sent: DispatchStats | None
) -> None:
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
        return
    for r in results:
        print(f"{r.status:<12} {r.source}: {r.summary}")
    print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to replay")
    if sent:
        print(f"sent {sent.sent} product(s), {sent.dead} given up")


@contextmanager
def _dry_run_app(app: App, dry_run: bool) -> Iterator[App]:
    """The app itself, or for ``--dry-run`` one on a throwaway store (a migrated SQLite file that is
    deleted afterwards): the same parser, handlers and templates run; the real store is never written."""
    from pydantic import SecretStr

    from skymist.runtime.assembly import build_app
    from skymist.store.db import upgrade

    if not dry_run:
        yield app
        return
    with tempfile.TemporaryDirectory(prefix="skymist-dry-run-") as folder:
        url = f"sqlite:///{Path(folder) / 'dry-run.sqlite'}"
        scratch = build_app(app.settings.model_copy(update={"database_url": SecretStr(url)}))
        try:
            upgrade(scratch.engine)
            yield scratch
        finally:
            scratch.close()


def _products(app: App) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from skymist.store.models import OutboxRow

    with app.sessions() as session:
        rows = session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars()
        return [
            {"product": r.product, "sink": r.sink, "destination": r.destination, "bytes": len(r.payload),
             "payload": r.payload.decode(errors="replace")}
            for r in rows
        ]  # fmt: skip


def _print_dry_run(
    args: argparse.Namespace,
    results: list[IngestResult],
    counts: Counter[str],
    produced: list[dict[str, Any]],
) -> int:
    if args.json:
        print_json(
            {
                "dry_run": True,
                "tense": args.tense,
                "counts": dict(counts),
                "results": [{"source": r.source, "status": r.status, "summary": r.summary} for r in results],
                "would_send": produced,
            }
        )
    else:
        for r in results:
            print(f"{r.status:<12} {r.source}: {r.summary}")
        print(f"dry run (alert_tense {args.tense}): nothing was written or sent; would queue:")
        for p in produced:
            print(f"  {p['product']:<16} -> {p['sink']}:{p['destination']} ({p['bytes']} bytes)")
        print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to replay")
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
    parser.add_argument(
        "--tense",
        choices=["archival", "test", "current"],
        default="archival",
        help="alert_tense of the products (default archival: a replay of old events; current needs --yes)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="parse, validate and print what would be produced; write and send nothing",
    )
    parser.add_argument("--yes", action="store_true", help="confirm --tense current")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run_guarded(_replay))
