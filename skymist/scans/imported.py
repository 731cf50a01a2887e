"""A scan computed elsewhere (by hand on IceCube's SkyDriver, or a published legacy scan), imported as
an alert's final scan.

The file is a skyreader JSON result (bare or SkyDriver's ``GET /scan/{id}/result`` body) or a legacy
NPZ (``nside-N`` arrays, no metadata: the alert's run, event and time are taken). It is stored as a
``final`` scan row of plan entry ``imported-<sha256 prefix>`` (the result as skyreader JSON; the
file's name, format and sha256 in ``plan.imported``), and the alert moves to ``localized_pending``:
from there the same hand-off as for any final scan makes the refined products. Importing the same
file again finds the same row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from skybase.times import modified_julian_date
from skymist.app import App
from skymist.scans.handoff import FinalScan
from skymist.skymap.convert import to_skyreader_dict
from skymist.skymap.errors import SkymapInputError
from skymist.skymap.model import ScanMetadata
from skymist.skymap.reader import read_scan
from skymist.states import AlertState, ScanState, check_transition
from skymist.store.models import Alert, AlertRevision
from skymist.store.scan_models import Scan
from skymist.store.types import utcnow


class ScanImportError(ValueError):
    """The file cannot be imported as this alert's final scan (the message says why)."""


@dataclass(frozen=True)
class ImportedScan:
    final: FinalScan
    sha256: str
    source_format: str
    result: bytes
    created: bool


def _as_skyreader_json(path: Path, data: bytes, meta: ScanMetadata) -> tuple[bytes, str]:
    if data[:2] == b"PK" or path.suffix.lower() == ".npz":
        try:
            scan = read_scan(path)
        except SkymapInputError as exc:
            raise ScanImportError(str(exc)) from None
        return json.dumps(to_skyreader_dict(scan, meta), allow_nan=False).encode(), "legacy-npz"
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScanImportError(
            f"--result {str(path)!r}: neither skyreader JSON nor a legacy NPZ ({exc})"
        ) from None
    return data, "skyreader-json"


def import_scan(
    app: App, alert_id: int, path: Path, *, by: str, reco_algo: str | None = None
) -> ImportedScan:
    """Store ``path`` as the final scan of alert ``alert_id`` (made by ``reco_algo`` when known) and
    make the alert ``localized_pending``."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    entry = f"imported-{sha[:12]}"
    with app.sessions() as session, session.begin():
        alert = session.execute(select(Alert).where(Alert.id == alert_id).with_for_update()).scalar_one()
        label = alert.name or f"{alert.run_id}_{alert.event_id}"
        if alert.state in (AlertState.RETRACTED, AlertState.MIRRORED):
            raise ScanImportError(f"alert {label}: state = {alert.state.value!r}; a scan cannot be imported")
        latest = session.execute(
            select(AlertRevision.revision)
            .where(AlertRevision.alert_id == alert.id)
            .order_by(AlertRevision.revision.desc())
            .limit(1)
        ).scalar_one_or_none()
        revision = int(latest) if latest is not None else 0
        existing = session.execute(
            select(Scan).where(Scan.alert_id == alert.id, Scan.plan_entry == entry)
        ).scalar_one_or_none()
        if existing is not None and existing.result is not None and existing.backend_scan_id is not None:
            final = FinalScan(existing.id, alert.id, existing.revision, entry, existing.backend_scan_id)
            return ImportedScan(final, sha, str(existing.plan["imported"]["format"]), existing.result, False)
        meta = ScanMetadata(
            run_id=alert.run_id,
            event_id=alert.event_id,
            event_type=alert.stream.lower(),
            mjd=modified_julian_date(alert.event_time),
            is_real_event=True,
            origin="alert",
        )
        result, source_format = _as_skyreader_json(path, data, meta)
        now = utcnow()
        scan = Scan(
            alert_id=alert.id,
            revision=revision,
            plan_entry=entry,
            plan={
                "imported": {"file": path.name, "format": source_format, "sha256": sha, "by": by},
                "name": entry,
                **({"reco_algo": reco_algo} if reco_algo else {}),
            },
            priority=0,
            state=ScanState.FINAL,
            request_key=f"imp{sha[:22]}",
            backend_scan_id=f"imported-{sha[:20]}",
            backend_state="SCAN_HAS_FINAL_RESULT",
            deadline_at=now + dt.timedelta(seconds=1),
            result=result,
            requested_by=f"import:{by}"[:64],
            submitted_at=now,
            finished_at=now,
            progress_percent=100.0,
        )
        session.add(scan)
        session.flush()
        if alert.state != AlertState.LOCALIZED_PENDING:
            alert.state = check_transition(alert.state, AlertState.LOCALIZED_PENDING)
            alert.updated_at = now
        assert scan.backend_scan_id is not None
        final = FinalScan(scan.id, alert.id, revision, entry, scan.backend_scan_id)
    return ImportedScan(final, sha, source_format, result, True)
