"""The files of an alert's record, computed from its :class:`AlertSnapshot` (no clock, no randomness).

Payload layout (under the bag's ``data/``, which is also the RO-Crate's root)::

    ro-crate-metadata.json                 RO-Crate 1.3 (schema.org JSON-LD) describing every file
    record.json                            the index: alert, revisions, what each file is, send times
    input/inbox-<id>.json                  the raw message bytes exactly as consumed
    products/<outbox id>-<product>.<ext>   every product's exact bytes as sent
    scans/scan-<id>-final.json             the final scan result verbatim; -partial.json the latest partial
    skymaps/<file>                         flat and multi-order FITS, PNG, PDF (as the store's sha256 says)
    regions/localization-<id>-<50|90>.moc.fits  the 50% and 90% regions as IVOA MOC 2.0 FITS
    localizations/localization-<id>.json   the localization numbers
    audit.json                             the audit log of human actions
    metadata/datacite.json                 DataCite record of the alert (concept DOI)
    metadata/datacite-r<N>.json            DataCite record of revision N (version DOI)
    metadata/schemaorg.jsonld              schema.org Dataset
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from skybase.json_types import JSONObject, JSONValue
from skymist.archive.crate import crate_metadata
from skymist.archive.datacite_meta import alert_doi, concept_record, version_record
from skymist.archive.errors import ArchiveError
from skymist.archive.regions import CREDIBILITIES, localization_moc, moc_fits, region_path
from skymist.archive.schemaorg import dataset_jsonld
from skymist.archive.snapshot import AlertSnapshot, LocalizationRecord
from skymist.config import Settings

_EXTENSIONS = {
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/plain": "txt",
    "application/vnd.api+json": "json",
}
#: the roles of the files offered as downloads (schema.org ``distribution``, the catalogue page)
DOWNLOAD_ROLES = ("skymap", "region", "localization")


@dataclass(frozen=True)
class RecordFile:
    """One payload file: its path under ``data/``, bytes, media type, role and a description."""

    path: str
    data: bytes
    media_type: str
    role: str
    description: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def canonical_json(document: JSONValue) -> bytes:
    """Stable JSON bytes (sorted keys, two-space indent, UTF-8, final newline)."""
    return (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=_plain) + "\n"
    ).encode()


def _plain(value: JSONValue) -> JSONValue:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"not JSON: {type(value).__name__}")


def _ext(content_type: str) -> str:
    return _EXTENSIONS.get(content_type.split(";", 1)[0].strip(), "bin")


def _skymap_file(path_text: str, sha256: str, alert: str) -> bytes:
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArchiveError(f"alert {alert}: skymap file {path} cannot be read ({exc.strerror})") from None
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise ArchiveError(f"alert {alert}: skymap file {path} has sha256 {found}, the store says {sha256}")
    return data


#: the record index's lists (inputs, sent, scans, localizations, skymaps, regions): one entry a file
_Index = dict[str, list[JSONObject]]


def _payload(snap: AlertSnapshot) -> tuple[list[RecordFile], _Index]:
    files: list[RecordFile] = []
    index: _Index = {
        "inputs": [],
        "sent": [],
        "scans": [],
        "localizations": [],
        "skymaps": [],
        "regions": [],
    }
    _add_inputs(snap, files, index)
    _add_sent(snap, files, index)
    _add_scans(snap, files, index)
    for loc in snap.localizations:
        _add_localization(snap, loc, files, index)
    audit = [
        {
            "id": a.id,
            "at": a.at,
            "actor": a.actor,
            "action": a.action,
            "subject_kind": a.subject_kind,
            "subject_id": a.subject_id,
            "reason": a.reason,
            "details": a.details,
        }
        for a in snap.audit
    ]
    files.append(
        RecordFile(
            "audit.json", canonical_json(audit), "application/json", "audit", "audit log of human actions"
        )
    )
    return files, index


def _add_inputs(snap: AlertSnapshot, files: list[RecordFile], index: _Index) -> None:
    for msg in snap.inputs:
        path = f"input/inbox-{msg.id}.json"
        files.append(
            RecordFile(
                path,
                msg.raw,
                "application/json",
                "input",
                f"raw message from {msg.topic} partition {msg.partition} offset {msg.offset}",
            )
        )
        index["inputs"].append(
            {
                "file": path,
                "topic": msg.topic,
                "partition": msg.partition,
                "offset": msg.offset,
                "kind": msg.kind,
                "received_at": msg.received_at,
                "sha256": files[-1].sha256,
            }
        )


def _add_sent(snap: AlertSnapshot, files: list[RecordFile], index: _Index) -> None:
    for product in snap.sent:
        path = f"products/{product.id:08d}-{product.product}.{_ext(product.content_type)}"
        files.append(
            RecordFile(
                path,
                product.payload,
                product.content_type,
                "product",
                f"{product.product} (revision {product.revision}) as sent to {product.sink} "
                f"{product.destination} at {_plain(product.sent_at) if product.sent_at else '?'}",
            )
        )
        index["sent"].append(
            {
                "file": path,
                "outbox_id": product.id,
                "revision": product.revision,
                "sink": product.sink,
                "destination": product.destination,
                "product": product.product,
                "idempotency_key": product.idempotency_key,
                "content_type": product.content_type,
                "sent_at": product.sent_at,
                "delivery_ref": product.delivery_ref,
                "sha256": files[-1].sha256,
            }
        )


def _add_scans(snap: AlertSnapshot, files: list[RecordFile], index: _Index) -> None:
    for scan in snap.scans:
        entry: JSONObject = {
            "scan_id": scan.id,
            "revision": scan.revision,
            "plan_entry": scan.plan_entry,
            "state": scan.state,
            "backend_scan_id": scan.backend_scan_id,
            "requested_by": scan.requested_by,
            "finished_at": scan.finished_at,
        }
        if "imported" in scan.plan:
            entry["imported"] = scan.plan["imported"]
        for kind, data in (("final", scan.result), ("partial", scan.partial_result)):
            if data is None:
                continue
            path = f"scans/scan-{scan.id}-{kind}.json"
            what = "final result" if kind == "final" else "latest partial result"
            files.append(RecordFile(path, data, "application/json", f"scan_{kind}", f"scan {scan.id} {what}"))
            entry[f"{kind}_file"] = path
            entry[f"{kind}_sha256"] = files[-1].sha256
        index["scans"].append(entry)


def _add_localization(
    snap: AlertSnapshot, loc: LocalizationRecord, files: list[RecordFile], index: _Index
) -> None:
    # a localization recorded before the PDF existed has none: its record stays as it was built
    numbers = {
        k: v for k, v in loc.row.items() if not k.endswith("_path") and not (k == "pdf_sha256" and v is None)
    }
    path = f"localizations/localization-{loc['id']}.json"
    files.append(
        RecordFile(
            path, canonical_json(numbers), "application/json", "localization", f"localization {loc['id']}"
        )
    )
    index["localizations"].append({"file": path, "localization_id": loc["id"], "revision": loc["revision"]})
    for kind, media in (
        ("flat_fits", "application/fits"),
        ("multiorder_fits", "application/fits"),
        ("png", "image/png"),
        ("pdf", "application/pdf"),
    ):
        if loc.row.get(f"{kind}_path") is None:
            continue  # no PDF for localizations recorded before it was made
        name = Path(loc[f"{kind}_path"]).name
        skymap_path = f"skymaps/{name}"
        data = _skymap_file(loc[f"{kind}_path"], loc[f"{kind}_sha256"], snap.label)
        files.append(
            RecordFile(
                skymap_path,
                data,
                media,
                "skymap",
                f"{kind.replace('_', ' ')} of localization {loc['id']}",
            )
        )
        index["skymaps"].append(
            {
                "file": skymap_path,
                "kind": kind,
                "localization_id": loc["id"],
                "sha256": loc[f"{kind}_sha256"],
            }
        )
    _add_regions(loc, files, index)


def _add_regions(loc: LocalizationRecord, files: list[RecordFile], index: _Index) -> None:
    for credibility in CREDIBILITIES:  # after the skymaps: the flat map's sha256 is checked
        region = region_path(loc["id"], credibility)
        files.append(
            RecordFile(
                region,
                moc_fits(localization_moc(loc, credibility)),
                "application/fits",
                "region",
                f"{credibility}% region of localization {loc['id']} (IVOA MOC 2.0)",
            )
        )
        index["regions"].append(
            {
                "file": region,
                "localization_id": loc["id"],
                "revision": loc["revision"],
                "credibility": credibility,
                "sha256": files[-1].sha256,
            }
        )


def record_files(settings: Settings, snap: AlertSnapshot) -> list[RecordFile]:
    """Every payload file of the alert's record, ``ro-crate-metadata.json`` last."""
    files, index = _payload(snap)
    metadata = _datacite_files(settings, snap)
    downloads = [(f.path, f.media_type, f.sha256, len(f.data)) for f in files if f.role in DOWNLOAD_ROLES]
    dataset = dataset_jsonld(settings, snap, downloads)
    metadata.append(
        RecordFile(
            "metadata/schemaorg.jsonld",
            canonical_json(dataset),
            "application/ld+json",
            "schemaorg",
            "schema.org Dataset",
        )
    )
    record_index = {
        **_record_index(settings, snap),
        **index,
        "audit_file": "audit.json",
        "metadata_files": [f.path for f in metadata],
    }
    body = [*files, *metadata]
    body.append(
        RecordFile("record.json", canonical_json(record_index), "application/json", "index", "record index")
    )
    crate = crate_metadata(settings, snap, dataset, body)
    body.append(
        RecordFile(
            "ro-crate-metadata.json",
            canonical_json(crate),
            "application/ld+json",
            "crate",
            "RO-Crate metadata",
        )
    )
    return body


def _datacite_files(settings: Settings, snap: AlertSnapshot) -> list[RecordFile]:
    """The DataCite records of a public alert: the concept's, then each published revision's."""
    metadata: list[RecordFile] = []
    if not snap.public:
        return metadata
    metadata.append(
        RecordFile(
            "metadata/datacite.json",
            canonical_json(concept_record(settings, snap)),
            "application/json",
            "datacite",
            "DataCite 4.5 record of the alert (concept DOI)",
        )
    )
    for rev in snap.published_revisions():
        metadata.append(
            RecordFile(
                f"metadata/datacite-r{rev.revision}.json",
                canonical_json(version_record(settings, snap, rev)),
                "application/json",
                "datacite",
                f"DataCite 4.5 record of revision {rev.revision}",
            )
        )
    return metadata


def _record_index(settings: Settings, snap: AlertSnapshot) -> JSONObject:
    """``record.json``'s alert and revisions (the file index and metadata files follow)."""
    return {
        "alert": {
            "id": snap.id,
            "name": snap.name,
            "run_id": snap.run_id,
            "event_id": snap.event_id,
            "stream": snap.stream,
            "source": snap.source,
            "state": snap.state,
            "event_time": snap.event_time,
            "created_at": snap.created_at,
            "retracted": snap.retracted,
            "retraction_reason": snap.retraction_reason,
            "doi": alert_doi(settings, snap) if snap.public else None,
        },
        "revisions": [
            {
                "revision": r.revision,
                "ra_deg": r.ra_deg,
                "dec_deg": r.dec_deg,
                "err50_deg": r.err50_deg,
                "err90_deg": r.err90_deg,
                "signalness": r.signalness,
                "far_per_year": r.far_per_year,
                "energy_tev": r.energy_tev,
                "details": r.details,
                "created_at": r.created_at,
            }
            for r in snap.revisions
        ],
    }
