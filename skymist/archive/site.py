"""The static HTML catalogue, written beside the records in ``archive_dir`` (one folder to mirror):

    index.html          sortable table of every alert, a sky map of all 90% regions, the downloads
    <alert>.html        numbers, picture, regions (MOC), revisions, the record's files, how to cite
    catalogue.<ext>     the exports (csv, fits, vot, parquet)
    catalogue-coverage.moc.fits   the union of every alert's 90% region (IVOA MOC 2.0)

The pages link the records' files relatively (``<alert>/data/<file>``): beside the records in the
archive they are the records' own files; a site written anywhere else (``skymist catalogue site
--output DIR``) gets a copy of every record's files (the bag, as the archive holds it) beside its
pages, so that the exported folder is whole on its own.

Every page embeds its schema.org JSON-LD (a ``Dataset`` per alert, a ``DataCatalog`` for the index).
Jinja with autoescape on; only files whose bytes changed are written (atomically), so regenerating
after an alert changed rewrites that alert's page, the index and the exports.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from skybase.json_types import JSONObject, JSONValue
from skymist.archive import sky_svg
from skymist.archive.bag import tag_files
from skymist.archive.catalogue import EXTENSIONS, FORMATS, catalogue_rows, export, snapshots
from skymist.archive.datacite_meta import _stream_title, alert_doi, landing_url, version_doi
from skymist.archive.record import DOWNLOAD_ROLES, RecordFile, record_files
from skymist.archive.regions import CREDIBILITIES, alert_moc, moc_fits, region_path, union
from skymist.archive.schemaorg import dataset_jsonld, doi_url
from skymist.archive.snapshot import AlertSnapshot, take_snapshot
from skymist.config import Settings
from skymist.files import PathOutsideRootError, path_inside, write_atomic

log = logging.getLogger(__name__)
CATALOGUE_NAME = "SkyMist alert catalogue"
COLOURS = ("#f2cc60", "#ff7b72", "#7ee787", "#79c0ff", "#d2a8ff", "#ffa657")
#: the catalogue's coverage: every alert's 90% region (beside the exports)
COVERAGE_FILE = "catalogue-coverage.moc.fits"


@dataclass
class SiteOutcome:
    folder: Path
    pages: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    complete: bool = True
    """False when a stop ended the writing early (the next sweep writes the rest)."""
    refused: list[str] = field(default_factory=list)
    """Labels whose page would lie outside the folder (never written; the writer reports them)."""


def _page_path(outcome: SiteOutcome, label: str) -> Path | None:
    """``<folder>/<label>.html``, or None (noted in ``outcome.refused``) when that leaves the folder."""
    try:
        return path_inside(outcome.folder, f"{label}.html")
    except PathOutsideRootError as exc:
        log.warning("catalogue page refused", extra={"alert": label[:80], "reason": str(exc)})
        outcome.refused.append(label)
        return None


def _environment() -> Environment:
    root = str(resources.files("skymist_templates"))
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def script_json(document: JSONValue) -> Markup:
    """JSON safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` characters left)."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text)


def _fmt(value: JSONValue, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _relative(settings: Settings, url: str) -> str:
    """A record file's public URL as a link relative to the pages (which lie beside the records)."""
    base = f"{settings.catalogue_base_url.rstrip('/')}/"
    return url[len(base) :] if url.startswith(base) else url


def _texts(row: JSONObject) -> JSONObject:
    out = dict(row)
    for key in (
        "RA",
        "DEC",
        "RA_ERR_PLUS",
        "RA_ERR_MINUS",
        "DEC_ERR_PLUS",
        "DEC_ERR_MINUS",
        "AREA_50",
        "AREA_90",
    ):
        out[f"{key}_text"] = _fmt(row.get(key))
    out["ENERGY_text"] = _fmt(row.get("ENERGY"), 1)
    out["FAR_text"] = _fmt(row.get("FAR"), 3)
    out["SIGNAL_text"] = _fmt(row.get("SIGNAL"), 3)
    out["href"] = f"{row['NAME']}.html"
    return out


def _region_shape(snap: AlertSnapshot, row: JSONObject, colour: str) -> JSONObject:
    """The alert's 90% region on the Mollweide sky map (skymist.archive.sky_svg): its pixels, or the
    error circle of an alert without a skymap."""
    from skymist.archive.regions import region_pixels

    x, y = sky_svg.point(row["RA"], row["DEC"])
    shape: JSONObject = {
        "name": snap.label,
        "href": f"{snap.label}.html",
        "colour": colour,
        "x": x,
        "y": y,
        "polygons": [],
    }
    loc = snap.localization_of(snap.revisions[-1].revision)
    if loc is None:
        rev = snap.revisions[-1]
        if rev.err90_deg is not None:
            shape["polygons"] = sky_svg.circle_polygons(rev.ra_deg, rev.dec_deg, rev.err90_deg)
        return shape
    shape["polygons"] = sky_svg.pixel_polygons(*region_pixels(loc, 90))
    return shape


def _alert_page(env: Environment, settings: Settings, snap: AlertSnapshot, files: list[RecordFile]) -> bytes:
    [row] = catalogue_rows(settings, [snap])
    downloads = [(f.path, f.media_type, f.sha256, len(f.data)) for f in files if f.role in DOWNLOAD_ROLES]
    pngs = [f for f in files if f.role == "skymap" and f.path.endswith(".png")]
    revisions = []
    registered = {r.revision for r in snap.published_revisions()}  # those with a DataCite record
    for rev in snap.revisions:
        sent = snap.first_sent(rev.revision)
        revisions.append(
            {
                "revision": rev.revision,
                "ra": _fmt(rev.ra_deg % 360.0),
                "dec": _fmt(rev.dec_deg),
                "err90": _fmt(rev.err90_deg),
                "sent": sent.strftime("%Y-%m-%d %H:%M:%S UTC") if sent else "not sent",
                "doi": version_doi(settings, snap, rev.revision) if rev.revision in registered else None,
            }
        )
    year = snap.event_time.year
    citation = (
        f"{settings.archive_publisher} ({year}): {snap.label}, IceCube {_stream_title(snap)} neutrino alert "
        f"record. {settings.archive_publisher}. https://doi.org/{alert_doi(settings, snap)}"
    )
    html = env.get_template("catalogue/alert.html.j2").render(
        title=f"{snap.label} - {CATALOGUE_NAME}",
        catalogue_name=CATALOGUE_NAME,
        jsonld=script_json(dataset_jsonld(settings, snap, downloads)),
        row=_texts(row),
        stream_title=_stream_title(snap),
        retraction_reason=snap.retraction_reason or "",
        picture=f"{snap.folder}/data/{pngs[-1].path}" if pngs else None,
        regions=_region_links(snap, files),
        revisions=revisions,
        files=[
            {"name": f.path, "href": f"{snap.folder}/data/{f.path}", "size": len(f.data), "sha256": f.sha256}
            for f in files
        ],
        citation=citation,
    )
    return html.encode()


def _region_links(snap: AlertSnapshot, files: list[RecordFile]) -> list[dict[str, str]]:
    """The links to the latest localization's region MOCs (none for a prompt-only alert)."""
    loc = snap.localization_of(snap.revisions[-1].revision)
    if loc is None:
        return []
    present = {f.path for f in files}
    return [
        {
            "label": f"{credibility}% region",
            "href": f"{snap.folder}/data/{region_path(loc['id'], credibility)}",
        }
        for credibility in CREDIBILITIES
        if region_path(loc["id"], credibility) in present
    ]


#: the catalogue table's columns: (label, how the page sorts it)
_INDEX_COLUMNS: Final = (
    ("Name", "text"),
    ("Time (UTC)", "text"),
    ("Stream", "text"),
    ("RA", "number"),
    ("Dec", "number"),
    ("90% area", "number"),
    ("Energy (TeV)", "number"),
    ("FAR (/yr)", "number"),
    ("Signalness", "number"),
    ("Rev", "number"),
    ("Retracted", "text"),
    ("90% region", "text"),
)


def _index_page(
    env: Environment, settings: Settings, snaps: list[AlertSnapshot], exports: dict[str, bytes]
) -> bytes:
    rows = catalogue_rows(settings, snaps)
    shapes = [
        _region_shape(snap, row, COLOURS[i % len(COLOURS)])
        for i, (snap, row) in enumerate(zip(snaps, rows, strict=True))
    ]
    html = env.get_template("catalogue/index.html.j2").render(
        title=CATALOGUE_NAME,
        catalogue_name=CATALOGUE_NAME,
        jsonld=script_json(_catalogue_jsonld(settings, snaps, exports)),
        rows=[{**_texts(row), "moc_href": _relative(settings, row["MOC_90_URL"])} for row in rows],
        shapes=shapes,
        sky=sky_svg.frame(),
        columns=[{"label": label, "kind": kind} for label, kind in _INDEX_COLUMNS],
        downloads=[
            {"href": name, "label": f"{name} ({len(data)} bytes)", "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in exports.items()
        ],
    )
    return html.encode()


def _catalogue_jsonld(
    settings: Settings, snaps: list[AlertSnapshot], exports: dict[str, bytes]
) -> JSONObject:
    """The index page's schema.org DataCatalog: every alert's Dataset and the exports."""
    return {
        "@context": "https://schema.org",
        "@type": "DataCatalog",
        "name": CATALOGUE_NAME,
        "description": "IceCube realtime neutrino alerts, one FAIR record (BagIt, RO-Crate, DataCite) each.",
        "url": f"{settings.catalogue_base_url.rstrip('/')}/index.html",
        "license": settings.archive_license_url,
        "publisher": {"@type": "Organization", "name": settings.archive_publisher},
        "dataset": [
            {
                "@type": "Dataset",
                "@id": doi_url(alert_doi(settings, s)),
                "name": s.label,
                "url": landing_url(settings, s),
            }
            for s in snaps
        ],
        "distribution": [
            {
                "@type": "DataDownload",
                "contentUrl": f"{settings.catalogue_base_url.rstrip('/')}/{name}",
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            for name, data in exports.items()
        ],
    }


def _put(outcome: SiteOutcome, path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            outcome.unchanged += 1
            return
    except FileNotFoundError:
        pass
    write_atomic(path, data)
    outcome.written.append(path.name)


def write_alert_page(
    settings: Settings, session: Session, alert_id: int, folder: Path | None = None
) -> SiteOutcome:
    """Write one alert's page (after its record changed)."""
    env = _environment()
    outcome = SiteOutcome(folder or settings.archive_root)
    snap = take_snapshot(session, alert_id)
    path = _page_path(outcome, snap.label) if snap.public and snap.revisions else None
    if path is not None:
        _put(outcome, path, _alert_page(env, settings, snap, record_files(settings, snap)))
        outcome.pages += 1
    return outcome


def _exported(settings: Settings, folder: Path) -> bool:
    """True when the site is written outside the archive (it then needs the records' files)."""
    return folder.resolve() != settings.archive_root.resolve()


def _copy_record(
    settings: Settings, outcome: SiteOutcome, snap: AlertSnapshot, files: list[RecordFile]
) -> None:
    """The alert's record (payload and bag tag files, the bytes the archive holds) under
    ``<folder>/<alert>/``, where the pages link its files."""
    identifier = alert_doi(settings, snap) if snap.public else None
    bag = [(f"data/{f.path}", f.data) for f in files]
    bag += tag_files(snap, files, identifier, settings.archive_publisher)
    for rel, data in bag:
        try:
            target = path_inside(outcome.folder, f"{snap.folder}/{rel}")
        except PathOutsideRootError as exc:
            log.warning("catalogue file refused", extra={"alert": snap.label[:80], "reason": str(exc)})
            continue
        _put(outcome, target, data)


def write_site(
    settings: Settings,
    sessions: sessionmaker[Session],
    folder: Path | None = None,
    stop: threading.Event | None = None,
) -> SiteOutcome:
    """Write the whole site (only what changed); ``stop`` set ends it after the page in hand, the
    index unwritten and the outcome not ``complete``."""
    env = _environment()
    outcome = SiteOutcome(folder or settings.archive_root)
    with sessions() as session:
        snaps = snapshots(session)
        rows = catalogue_rows(settings, snaps)
        exports = {f"catalogue.{EXTENSIONS[fmt]}": export(rows, fmt) for fmt in FORMATS}
        exports[COVERAGE_FILE] = moc_fits(union(m for m in map(alert_moc, snaps) if m is not None))
        copies = _exported(settings, outcome.folder)
        for name, data in exports.items():
            _put(outcome, outcome.folder / name, data)
        for snap in snaps:
            if stop is not None and stop.is_set():
                outcome.complete = False
                return outcome
            path = _page_path(outcome, snap.label)
            if path is None:
                continue
            full = take_snapshot(session, snap.id)  # with its bytes: the files and their sha256
            files = record_files(settings, full)
            if copies:
                _copy_record(settings, outcome, full, files)
            page = _alert_page(env, settings, full, files)
            _put(outcome, path, page)
            outcome.pages += 1
    _put(outcome, outcome.folder / "index.html", _index_page(env, settings, snaps, exports))
    outcome.pages += 1
    return outcome
