"""``skymist archive rebuild|verify|backfill``: the per-alert FAIR records.

skymist archive rebuild ALERT...   re-create records from the store (byte for byte)
skymist archive verify [ALERT...]  BagIt, checksums, files named, DataCite schema; exit 0 / 1
skymist archive backfill           records for every alert that has none or lacks a sent product
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

from skymist.cli.common import SubParsers, UserError, opened_app, print_json, resolve_alert, run_guarded


def _hashes(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _rebuild(args: argparse.Namespace) -> int:
    from skymist.archive.errors import ArchiveError
    from skymist.archive.writer import record_folder, remove_record, write_record

    report: list[dict[str, Any]] = []
    with opened_app(args) as app:
        for ref in args.alerts:
            with app.sessions() as session:
                alert = resolve_alert(session, ref)
                alert_id, label = alert.id, alert.name or f"{alert.run_id}_{alert.event_id}"
            try:
                folder = record_folder(app.settings, label)
            except ArchiveError as exc:
                raise UserError(str(exc)) from None
            before = _hashes(folder)
            if args.fresh:
                remove_record(folder)  # the writer's own files only
            try:
                write_record(app.settings, app.sessions, alert_id)
            except ArchiveError as exc:
                raise UserError(str(exc)) from None
            after = _hashes(folder)
            same = sum(1 for k, v in after.items() if before.get(k) == v)
            changed = sorted(k for k in after if k in before and before[k] != after[k])
            added = sorted(set(after) - set(before))
            removed = sorted(set(before) - set(after))
            report.append(
                {
                    "alert": label,
                    "folder": str(folder),
                    "files": len(after),
                    "identical": same,
                    "changed": changed,
                    "added": added,
                    "removed": removed,
                }
            )
    if args.json:
        print_json(report)
        return 0
    for entry in report:
        print(
            f"{entry['alert']}: {entry['files']} files, {entry['identical']} identical to the record before, "
            f"{len(entry['changed'])} changed, {len(entry['added'])} added, {len(entry['removed'])} removed"
        )
        for key in ("changed", "added", "removed"):
            for name in entry[key]:
                print(f"  {key}: {name}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from skymist.archive.errors import ArchiveError
    from skymist.archive.verify import verify_record
    from skymist.archive.writer import record_folder

    with opened_app(args) as app, app.sessions() as session:
        if args.alerts:
            alerts = [resolve_alert(session, ref) for ref in args.alerts]
        else:
            from sqlalchemy import select

            from skymist.store.models import Alert

            alerts = list(session.execute(select(Alert).order_by(Alert.id)).scalars())
        labels = [a.name or f"{a.run_id}_{a.event_id}" for a in alerts]
        settings = app.settings
    problems = []
    for label in labels:
        try:
            problems += verify_record(record_folder(settings, label))
        except ArchiveError as exc:  # a stored name that cannot be a folder: a problem of its own
            problems.append(str(exc))
    for line in problems:
        print(line)
    print(f"{len(labels)} record(s) checked, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def _backfill(args: argparse.Namespace) -> int:
    from skymist.archive.errors import ArchiveError
    from skymist.archive.hooks import stale_alerts
    from skymist.archive.writer import all_alert_ids, write_record

    with opened_app(args) as app:
        with app.sessions() as session:
            todo = all_alert_ids(session) if args.all else stale_alerts(app.settings, session)
        written = failed = 0
        for alert_id in todo:
            try:
                outcome = write_record(app.settings, app.sessions, alert_id)
            except ArchiveError as exc:
                print(f"skymist: archive: {exc}", file=sys.stderr)
                failed += 1
                continue
            written += 1
            print(f"{outcome.alert}: {len(outcome.written)} file(s) written, {outcome.unchanged} unchanged")
    print(f"{written} record(s) written, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "archive", help="the FAIR archive records of the alerts (rebuild, verify, backfill)"
    )
    actions = parser.add_subparsers(dest="archive_action", metavar="ACTION", required=True)
    rebuild = actions.add_parser("rebuild", help="re-create alert records from the store, byte for byte")
    rebuild.add_argument("alerts", nargs="+", metavar="ALERT", help="public name, RUNID_EVENTID or id")
    rebuild.add_argument(
        "--fresh",
        action="store_true",
        help="remove the files the writer wrote first, then write the record anew",
    )
    rebuild.add_argument("--json", action="store_true", help="one JSON document on stdout")
    rebuild.set_defaults(handler=run_guarded(_rebuild))
    verify = actions.add_parser("verify", help="check records: BagIt checksums, files named, metadata schema")
    verify.add_argument("alerts", nargs="*", metavar="ALERT", help="default: every alert")
    verify.set_defaults(handler=run_guarded(_verify))
    backfill = actions.add_parser("backfill", help="write the records missing or behind the store")
    backfill.add_argument("--all", action="store_true", help="rewrite every alert's record")
    backfill.set_defaults(handler=run_guarded(_backfill))
