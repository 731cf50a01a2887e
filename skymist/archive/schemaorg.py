"""schema.org ``Dataset`` JSON-LD of an alert (embedded in its HTML page, the root of its RO-Crate).

Dataset search engines need ``name`` and ``description``; the DOI is the ``identifier``, the
revisions are ``hasVersion`` entries, the files ``distribution`` entries with their checksums, the
numbers ``variableMeasured``. The sky position is described as additional properties
(``spatialCoverage`` is for places on Earth).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from skymist.archive.datacite_meta import (
    ICECAT1_BIBCODE,
    _iso,
    _stream_title,
    alert_doi,
    landing_url,
    version_doi,
)
from skymist.archive.snapshot import AlertSnapshot
from skymist.config import Settings

CONTEXT = "https://schema.org"


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


def _measured(snap: AlertSnapshot) -> list[dict[str, Any]]:
    if not snap.revisions:
        return []
    rev = snap.revisions[-1]
    loc = snap.localization_of(rev.revision)
    values: list[tuple[str, float | None, str]] = [
        ("ra", rev.ra_deg % 360.0, "deg"),
        ("dec", rev.dec_deg, "deg"),
        ("err90", rev.err90_deg, "deg"),
        ("energy", rev.energy_tev, "TeV"),
        ("far", rev.far_per_year, "yr-1"),
        ("signalness", rev.signalness, ""),
    ]
    if loc is not None:
        values += [
            ("ra_err_plus_90", loc["ra_plus_90_deg"], "deg"),
            ("ra_err_minus_90", loc["ra_minus_90_deg"], "deg"),
            ("dec_err_plus_90", loc["dec_plus_90_deg"], "deg"),
            ("dec_err_minus_90", loc["dec_minus_90_deg"], "deg"),
            ("area_50", loc["area_50_deg2"], "deg2"),
            ("area_90", loc["area_90_deg2"], "deg2"),
        ]
    out = []
    for name, value, unit in values:
        if value is None:
            continue
        entry: dict[str, Any] = {"@type": "PropertyValue", "name": name, "value": round(float(value), 6)}
        if unit:
            entry["unitText"] = unit
        out.append(entry)
    return out


def dataset_jsonld(
    settings: Settings, snap: AlertSnapshot, files: Sequence[tuple[str, str, str, int]] = ()
) -> dict[str, Any]:
    """The Dataset document; ``files`` are (name, media type, sha256, size) of the downloads."""
    doi = alert_doi(settings, snap)
    title = (
        f"{snap.label}: IceCube {_stream_title(snap)} neutrino alert "
        f"(run {snap.run_id}, event {snap.event_id})"
    )
    if snap.retracted:
        title = f"RETRACTED: {title}"
    description = (
        f"The complete record of IceCube's realtime {_stream_title(snap)} alert {snap.label} "
        f"(event time {_iso(snap.event_time)}): the message received, every notice, VOEvent and Circular "
        "as sent, the sky scans, skymaps and localization."
    )
    if snap.retracted:
        description += f" RETRACTED: {snap.retraction_reason or 'no reason recorded'}."
    url = landing_url(settings, snap)
    base = url.rsplit("/", 1)[0]
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "Dataset",
        "@id": doi_url(doi),
        "name": title,
        "description": description,
        "identifier": doi_url(doi),
        "url": url,
        "creator": {"@type": "Organization", "name": settings.archive_publisher},
        "publisher": {"@type": "Organization", "name": settings.archive_publisher},
        "license": settings.archive_license_url,
        "isAccessibleForFree": True,
        "keywords": ["neutrino", "IceCube", "realtime alert", snap.stream.lower()],
        "temporalCoverage": _iso(snap.event_time),
        "dateCreated": _iso(snap.created_at),
        "version": str(snap.revisions[-1].revision) if snap.revisions else "0",
        "measurementTechnique": "IceCube realtime event selection and HEALPix likelihood sky scan",
        "variableMeasured": _measured(snap),
        "citation": [ICECAT1_BIBCODE]
        + [
            f"https://gcn.nasa.gov/circulars/{n}"
            for n in sorted(set(snap.circular_numbers.values()), key=int)
        ],
        "hasVersion": [
            {
                "@type": "Dataset",
                "@id": doi_url(version_doi(settings, snap, r.revision)),
                "version": str(r.revision),
            }
            for r in snap.published_revisions()
        ],
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": "SkyMist alert catalogue",
            "url": f"{base}/index.html",
        },
        "distribution": [
            {
                "@type": "DataDownload",
                "name": name,
                "contentUrl": f"{base}/{snap.folder}/data/{name}",
                "encodingFormat": media,
                "sha256": sha,
                "contentSize": f"{size} B",
            }
            for name, media, sha, size in files
        ],
    }
    if snap.retracted:
        document["creativeWorkStatus"] = "Retracted"
    first = snap.first_sent(snap.revisions[0].revision) if snap.revisions else None
    if first is not None:
        document["datePublished"] = _iso(first)
    return document
