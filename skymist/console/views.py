"""What the console's pages show, read from the store as plain dicts (the templates do no queries)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from skybase.json_types import JSONObject
from skymist.alerts.views import scan_view
from skymist.circulars.text import CircularText
from skymist.config import Settings
from skymist.files import PathOutsideRootError, path_inside
from skymist.outbox.delivery import Delivery, delivery_of, minutes
from skymist.outbox.queue import HELD_UNTIL
from skymist.scans.tracker import ACTIVE
from skymist.states import CircularState, OutboxState
from skymist.store.models import Alert, AlertRevision, OutboxRow
from skymist.store.product_models import AuditEntry, Circular, Localization
from skymist.store.scan_models import Scan, ScanProgress

#: skymap files a localization has, by the name the console serves them under
SKYMAP_FILES = {
    "png": "png_path",
    "pdf": "pdf_path",  # localizations recorded with the picture's PDF (NULL before, absent in old schemas)
    "flat_fits": "flat_fits_path",
    "multiorder_fits": "multiorder_fits_path",
}


def skymap_path(loc: Localization, kind: str) -> Path | None:
    """The file ``kind`` of a localization, when it has one."""
    value = getattr(loc, SKYMAP_FILES[kind], None)
    return Path(value) if value else None


def label(alert: Alert) -> str:
    return alert.name or f"{alert.run_id}_{alert.event_id}"


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _revision(rev: AlertRevision) -> JSONObject:
    details = rev.details or {}
    return {
        "revision": rev.revision,
        "ra_deg": rev.ra_deg,
        "dec_deg": rev.dec_deg,
        "err50_deg": rev.err50_deg,
        "err90_deg": rev.err90_deg,
        "signalness": rev.signalness,
        "far_per_year": rev.far_per_year,
        "energy_tev": rev.energy_tev,
        "reco_algo": details.get("reco_algo"),
        "reco_kind": details.get("reco_kind"),
        "area_90_deg2": details.get("area_90_deg2"),
        "thresholds": details.get("thresholds"),
    }


def scan_live(scan: Scan) -> JSONObject:
    """A scan's progress as the live script updates it."""
    return {
        "id": scan.id,
        "state": scan.state.value,
        "backend_state": scan.backend_state,
        "backend_scan_id": scan.backend_scan_id,
        "percent": scan.progress_percent,
        "pixels_done": scan.pixels_done,
        "pixels_total": scan.pixels_total,
        "predicted_end": _when(scan.predicted_end),
        "in_flight": scan.state in ACTIVE,
    }


def _delivery(delivery: Delivery | None) -> JSONObject:
    """An alert's delivery state as the list shows it: each revision's products with their state."""
    if delivery is None:
        return {
            "revisions": [],
            "oldest": None,
            "oldest_s": None,
            "late": False,
            "critical": False,
            "dead": 0,
        }
    oldest = delivery.oldest_undelivered_s
    return {
        "revisions": [
            {
                "name": name,
                "products": [
                    {"id": p.id, "product": p.product, "state": p.state, "text": p.describe(), "late": p.late}
                    for p in products
                ],
            }
            for name, products in delivery.revisions()
        ],
        "oldest": minutes(oldest) if oldest is not None else None,
        "oldest_s": oldest,
        "late": delivery.late,
        "critical": delivery.critical,
        "dead": delivery.dead,
    }


def attention_key(rows: list[JSONObject]) -> str:
    """What the list's script compares to know the delivery state changed (ages left out: they grow)."""
    parts = []
    for row in rows:
        states = ",".join(
            f"{p['id']}={p['state']}" for rev in row["delivery"]["revisions"] for p in rev["products"]
        )
        parts.append(f"{row['id']}:{int(row['delivery']['late'])}:{states}")
    return hashlib.sha256("|".join(sorted(parts)).encode()).hexdigest()[:16]  # whatever the order


def attention_order(row: JSONObject) -> tuple[int, int, int, float]:
    """Sort key of "needs attention" (ascending): dead products, then late ones, a Circular awaiting
    approval, the oldest undelivered product first; among equals the list's order (newest first)."""
    d = row["delivery"]
    return (-int(d["dead"] > 0), -int(d["late"]), -int(row["awaiting_approval"]), -(d["oldest_s"] or 0.0))


def alert_rows(session: Session, settings: Settings, now: dt.datetime, limit: int = 200) -> list[JSONObject]:
    alerts = list(
        session.execute(
            select(Alert).order_by(Alert.event_time.desc(), Alert.id.desc()).limit(limit)
        ).scalars()
    )
    ids = [a.id for a in alerts]
    scans: dict[int, list[JSONObject]] = {}
    for scan in session.execute(
        select(Scan).where(Scan.alert_id.in_(ids), Scan.state.in_(ACTIVE)).order_by(Scan.id)
    ).scalars():
        scans.setdefault(scan.alert_id, []).append({**scan_live(scan), "plan_entry": scan.plan_entry})
    awaiting = set(
        session.execute(
            select(Circular.alert_id).where(
                Circular.alert_id.in_(ids), Circular.state == CircularState.AWAITING_APPROVAL
            )
        ).scalars()
    )
    deliveries = delivery_of(session, settings, ids, now)
    rows = []
    for alert in alerts:
        revs = {r.revision: r for r in alert.revisions}
        refined = [r for n, r in revs.items() if n >= 1]
        rows.append(
            {
                "id": alert.id,
                "label": label(alert),
                "run_event": f"{alert.run_id}_{alert.event_id}",
                "stream": alert.stream,
                "time": _when(alert.event_time),
                "state": alert.state.value,
                "rev0": _revision(revs[0]) if 0 in revs else None,
                "rev1": _revision(max(refined, key=lambda r: r.revision)) if refined else None,
                "scans": scans.get(alert.id, []),
                "awaiting_approval": alert.id in awaiting,
                "delivery": _delivery(deliveries.get(alert.id)),
            }
        )
    return rows


def _payload_text(row: OutboxRow) -> str:
    data = bytes(row.payload)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return f"({len(data)} bytes, not UTF-8 text: download them)"


def _outbox(row: OutboxRow) -> JSONObject:
    return {
        "id": row.id,
        "revision": row.revision,
        "product": row.product,
        "sink": row.sink,
        "destination": row.destination,
        "state": row.state.value,
        "attempts": row.attempts,
        "idempotency_key": row.idempotency_key,
        "queued_at": _when(row.created_at),
        "sent_at": _when(row.sent_at),
        "delivery_ref": row.delivery_ref,
        "last_error": row.last_error,
        "content_type": row.content_type,
        "bytes": len(row.payload),
        "text": _payload_text(row),
        "held": row.state == OutboxState.PENDING and _aware(row.next_attempt_at) >= HELD_UNTIL,
        "can_retry": row.state == OutboxState.DEAD,
        "can_cancel": row.state in (OutboxState.PENDING, OutboxState.DEAD),
    }


def _localization(settings: Settings, loc: Localization) -> JSONObject:
    files = {name: (path := skymap_path(loc, name)) is not None and path.is_file() for name in SKYMAP_FILES}
    return {
        "id": loc.id,
        "revision": loc.revision,
        "scan_ref": loc.scan_ref,
        "thresholds": loc.thresholds,
        "ra_deg": loc.ra_deg,
        "dec_deg": loc.dec_deg,
        "ra_plus_90_deg": loc.ra_plus_90_deg,
        "ra_minus_90_deg": loc.ra_minus_90_deg,
        "dec_plus_90_deg": loc.dec_plus_90_deg,
        "dec_minus_90_deg": loc.dec_minus_90_deg,
        "area_50_deg2": loc.area_50_deg2,
        "area_90_deg2": loc.area_90_deg2,
        "healpix_url": loc.healpix_url,
        "png_url": loc.png_url,
        "files": files,
        "created_at": _when(loc.created_at),
    }


def scan_outcome(session: Session, scan: Scan) -> tuple[str | None, int | None]:
    """(reconstruction, revision made) of a scan as the store records them: the localization made
    from the scan names the revision it produced, and that revision the algorithm (for an imported
    scan, ``localize --reco``'s, which the scan's plan lacks), with the import's format."""
    loc = session.execute(
        select(Localization)
        .where(Localization.alert_id == scan.alert_id, Localization.scan_ref.startswith(f"scan:{scan.id}:"))
        .order_by(Localization.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    made = loc.revision if loc is not None else None
    algo = scan.plan.get("reco_algo")
    if made is not None:
        rev = session.execute(
            select(AlertRevision).where(
                AlertRevision.alert_id == scan.alert_id, AlertRevision.revision == made
            )
        ).scalar_one_or_none()
        algo = ((rev.details or {}).get("reco_algo") if rev is not None else None) or algo
    imported = scan.plan.get("imported")
    if isinstance(imported, dict):
        algo = f"{algo or 'unknown'}, imported {imported.get('format') or 'scan'}"
    return algo, made


def _scan(session: Session, scan: Scan, alert_label: str) -> JSONObject:
    view = scan_view(scan, alert_label)
    view["reco_algo"], view["made_revision"] = scan_outcome(session, scan)
    history = [
        {
            "at": _when(p.at),
            "backend_scan_id": p.backend_scan_id,
            "backend_state": p.backend_state,
            "percent": p.percent,
            "pixels_done": p.pixels_done,
            "pixels_total": p.pixels_total,
            "predicted_end": _when(p.predicted_end),
            "summary": p.summary,
        }
        for p in session.execute(
            select(ScanProgress).where(ScanProgress.scan_id == scan.id).order_by(ScanProgress.id)
        ).scalars()
    ]
    backend_ids = list(dict.fromkeys([*(h["backend_scan_id"] for h in history), scan.backend_scan_id]))
    return {
        **view,
        "submitted_at": _when(scan.submitted_at),
        "finished_at": _when(scan.finished_at),
        "live": scan_live(scan),
        "history": history,
        "backend_ids": [b for b in backend_ids if b],
        "can_rescan": scan.state.value in ("submitted", "running", "partial", "failed", "aborted"),
    }


def _circular(circular: Circular) -> JSONObject:
    return {
        "id": circular.id,
        "kind": circular.kind.value,
        "state": circular.state.value,
        "state_reason": circular.state_reason,
        "revision": circular.revision,
        "subject": circular.subject,
        "body": circular.body,
        "text": CircularText(circular.subject, circular.body).as_file(),
        "approved_by": circular.approved_by,
        "approved_at": _when(circular.approved_at),
        "rejected_by": circular.rejected_by,
        "submitted_at": _when(circular.submitted_at),
        "outbox_id": circular.outbox_id,
        "awaiting": circular.state == CircularState.AWAITING_APPROVAL,
    }


def _audit(entry: AuditEntry) -> JSONObject:
    details = {k: v for k, v in (entry.details or {}).items() if k != "old_text"}
    return {
        "id": entry.id,
        "at": _when(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": f"{entry.subject_kind} {entry.subject_id}",
        "reason": entry.reason,
        "details": details,
    }


def archive_links(settings: Settings, alert_label: str) -> JSONObject:
    """The alert's archive record and catalogue page, when they exist on disk."""
    root = settings.archive_root
    record: Path | None
    page: Path | None
    try:
        record = path_inside(root, alert_label)
        page = path_inside(root, f"{alert_label}.html")
    except PathOutsideRootError:  # a stored name that cannot be a folder: no record, no page
        record = page = None
    return {
        "record": record is not None and (record / "data" / "ro-crate-metadata.json").is_file(),
        "record_folder": str(record) if record is not None else None,
        "page": page is not None and page.is_file(),
        "public_page": f"{settings.catalogue_base_url.rstrip('/')}/{alert_label}.html",
    }


def alert_detail(session: Session, settings: Settings, alert: Alert) -> JSONObject:
    name = label(alert)
    revisions = [_revision(r) for r in sorted(alert.revisions, key=lambda r: r.revision)]
    outbox = session.execute(
        select(OutboxRow).where(OutboxRow.alert_id == alert.id).order_by(OutboxRow.id)
    ).scalars()
    scans = session.execute(select(Scan).where(Scan.alert_id == alert.id).order_by(Scan.id)).scalars()
    locs = session.execute(
        select(Localization).where(Localization.alert_id == alert.id).order_by(Localization.id.desc())
    ).scalars()
    circulars = session.execute(
        select(Circular).where(Circular.alert_id == alert.id).order_by(Circular.id.desc())
    ).scalars()
    audit = session.execute(
        select(AuditEntry).where(AuditEntry.alert_id == alert.id).order_by(AuditEntry.id)
    ).scalars()
    rows = [_outbox(row) for row in outbox]
    held = [row["revision"] for row in rows if row["held"] and row["revision"] is not None]
    held_kind = next((r["reco_kind"] for r in revisions if held and r["revision"] == max(held)), None)
    return {
        "id": alert.id,
        "label": name,
        "held_revision": max(held) if held else None,
        # an approximation's revision goes out only with the Circular's approval (alerts.release)
        "held_releasable": bool(held) and held_kind != "approximation",
        "run_id": alert.run_id,
        "event_id": alert.event_id,
        "stream": alert.stream,
        "source": alert.source,
        "state": alert.state.value,
        "time": _when(alert.event_time),
        "retracted": alert.state.value == "retracted",
        "revisions": revisions,
        "outbox": rows,
        "scans": [_scan(session, scan, name) for scan in scans],
        "localizations": [_localization(settings, loc) for loc in locs],
        "circulars": [_circular(c) for c in circulars],
        "audit": [_audit(e) for e in audit],
        "archive": archive_links(settings, name),
    }
