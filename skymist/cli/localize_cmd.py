"""``skymist localize ALERT --result FILE [--yes --by NAME]``: import a scan computed elsewhere.

The file (skyreader JSON or legacy NPZ) becomes the alert's final scan, recorded as imported with its
sha256, and runs the refined-products path (:func:`skymist.alerts.refined.localize_alert`): the
Rev 1 notices are held until the Circular is approved, or released at once with ``--yes`` (audited
under ``--by``). The archive record is written at the end.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from skymist.cli.common import SubParsers, UserError, opened_app, print_json, resolve_alert, run_guarded
from skymist.reco_kinds import KNOWN_RECOS


def _localize(args: argparse.Namespace) -> int:
    from skymist import audit
    from skymist.alerts.refined import localize_alert
    from skymist.archive.errors import ArchiveError
    from skymist.archive.writer import write_record
    from skymist.circulars.errors import ActionError
    from skymist.scans.imported import ScanImportError, import_scan
    from skymist.skymap.errors import LocalizationError

    path: Path = args.result
    if not path.is_file():
        raise UserError(f"--result {str(path)!r}: no such file")
    try:
        actor = audit.actor_name(args.by)
    except ActionError as exc:
        raise UserError(str(exc)) from None
    overrides: dict[str, Any] = {"rev1_requires_approval": not args.yes}
    if args.thresholds:
        overrides["skymap_thresholds"] = args.thresholds
    with opened_app(args, **overrides) as app:
        with app.sessions() as session:
            alert_id = resolve_alert(session, args.alert).id
        try:
            imported = import_scan(app, alert_id, path, by=actor, reco_algo=args.reco)
            kind, method = KNOWN_RECOS[args.reco]
            plan = {"reco_algo": args.reco, "reco_kind": kind, "region_method": args.thresholds or method}
            outcome = localize_alert(app, alert_id, imported.result, scan_ref=imported.final.ref, plan=plan)
        except (ScanImportError, LocalizationError) as exc:
            raise UserError(str(exc)) from None
        if args.yes and outcome.status == "created":
            with app.sessions() as session, session.begin():
                audit.record(
                    session,
                    actor=actor,
                    action="rev1_released",
                    subject_kind="alert",
                    subject_id=alert_id,
                    alert_id=alert_id,
                    reason="released at import (--yes)",
                    details={
                        "scan_ref": imported.final.ref,
                        "sha256": imported.sha256,
                        "revision": outcome.revision,
                    },
                )
        try:
            write_record(app.settings, app.sessions, alert_id)
        except ArchiveError as exc:
            raise UserError(str(exc)) from None
    document = {
        "alert": args.alert,
        "scan_id": imported.final.scan_id,
        "scan_ref": imported.final.ref,
        "sha256": imported.sha256,
        "format": imported.source_format,
        "status": outcome.status,
        "revision": outcome.revision,
        "notices_held": outcome.notices_held,
        "circular_id": outcome.circular_id,
        "queued": list(outcome.queued_products),
        "summary": outcome.summary,
    }
    if args.json:
        print_json(document)
        return 0
    print(outcome.summary)
    print(
        f"  imported {path.name} ({imported.source_format}, sha256 {imported.sha256}) "
        f"as scan {imported.final.scan_id}"
    )
    if outcome.notices_held:
        print(
            f"  Rev {outcome.revision} notices held until the Circular is approved: "
            f"skymist circular approve {args.alert}"
        )
    elif outcome.status == "created":
        print(f"  Rev {outcome.revision} released at once by {actor} (audited)")
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "localize",
        help="import a scan computed elsewhere (skyreader JSON or legacy NPZ) as the final scan",
        description=(
            "Import FILE as the alert's final scan (recorded as imported, with its sha256) and make the "
            "refined products from it: the Rev 1 notices wait for the Circular's approval, or go out at "
            "once with --yes."
        ),
    )
    parser.add_argument("alert", metavar="ALERT", help="public name (IceCube-220524A), RUNID_EVENTID or id")
    parser.add_argument(
        "--result", required=True, type=Path, metavar="FILE", help="skyreader JSON or legacy NPZ"
    )
    parser.add_argument("--yes", action="store_true", help="release the Rev 1 notices at once (audited)")
    parser.add_argument("--by", help="who imports (default: $USER)")
    parser.add_argument(
        "--thresholds",
        choices=["wilks", "calibrated", "hpd"],
        help="region thresholds (default: the setting)",
    )
    parser.add_argument(
        "--reco",
        choices=sorted(KNOWN_RECOS),
        default="splinempe",
        help="the algorithm that made the scan (default: splinempe, IceCube's SkyDriver scans); "
        "an approximation's Rev 1 is held for approval even with --yes",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run_guarded(_localize))
