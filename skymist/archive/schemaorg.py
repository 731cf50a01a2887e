"""schema.org ``Dataset`` JSON-LD of an alert (embedded in its HTML page, the root of its RO-Crate).

Dataset search engines need ``name`` and ``description``; the DOI is the ``identifier``, the
published revisions (each with its version DOI) are ``workExample`` entries (schema.org has no
``hasVersion``: a version is an "instance or realization of the concept of this creative work"), the
files ``distribution`` entries with their checksums, the numbers ``variableMeasured``; ``citation``
is IceCat-1's DOI URL and the Circulars' URLs.

The sky position (:func:`sky_position`): ``spatialCoverage`` is a ``Place``, as Google's Dataset
guidelines ask, but one without ``geo``: ``GeoCoordinates`` and ``GeoShape`` are WGS 84 places on
Earth, and a right ascension / declination given as longitude / latitude would put the alert on a
map of the Earth. The ``Place`` is named and described in words (which the guidelines accept), links
the 90% region's MOC as its map (``hasMap``), and carries the IVOA coordinates as
``additionalProperty`` values identified by their IVOA UCDs (``pos.eq.ra;meta.main``, ...) in the
ICRS frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from skybase.json_types import JSONObject
from skymist.archive.datacite_meta import (
    ICECAT1_PAPER_DOI,
    _iso,
    _stream_title,
    alert_doi,
    landing_url,
    record_file_url,
    version_doi,
)
from skymist.archive.regions import region_path
from skymist.archive.snapshot import AlertSnapshot
from skymist.config import Settings

CONTEXT = "https://schema.org"


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


def _measured(snap: AlertSnapshot) -> list[JSONObject]:
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
        entry: JSONObject = {"@type": "PropertyValue", "name": name, "value": round(float(value), 6)}
        if unit:
            entry["unitText"] = unit
        out.append(entry)
    return out


def sky_position(settings: Settings, snap: AlertSnapshot) -> JSONObject | None:
    """The ``Place`` of the alert's latest revision on the sky (None before any revision)."""
    if not snap.revisions:
        return None
    rev = snap.revisions[-1]
    loc = snap.localization_of(rev.revision)
    ra, dec = (loc["ra_deg"], loc["dec_deg"]) if loc is not None else (rev.ra_deg, rev.dec_deg)
    ra = float(ra) % 360.0
    coordinates: list[tuple[str, str, float | None, str]] = [
        ("right ascension (ICRS)", "pos.eq.ra;meta.main", ra, "deg"),
        ("declination (ICRS)", "pos.eq.dec;meta.main", float(dec), "deg"),
    ]
    if loc is not None:
        region = f"the 90% region ({float(loc['area_90_deg2']):.2f} sq. deg) of the sky scan"
        coordinates.append(("area of the 90% region", "phys.angArea", float(loc["area_90_deg2"]), "deg2"))
    elif rev.err90_deg is not None:
        region = f"the 90% error circle of radius {rev.err90_deg:.2f} deg"
        coordinates.append(("radius of the 90% error circle", "pos.angResolution", rev.err90_deg, "deg"))
    else:
        region = "no error region"
    place: JSONObject = {
        "@type": "Place",
        "name": f"Sky position of {snap.label}: RA {ra:.4f} deg, Dec {float(dec):+.4f} deg (ICRS)",
        "description": (
            f"A region of the celestial sphere, not of the Earth: best fit RA {ra:.4f} deg, Dec "
            f"{float(dec):+.4f} deg (ICRS, J2000), {region}."
        ),
        "additionalProperty": [
            {
                "@type": "PropertyValue",
                "name": name,
                "propertyID": ucd,
                "value": round(value, 6),
                "unitText": unit,
            }
            for name, ucd, value, unit in coordinates
            if value is not None
        ],
    }
    if loc is not None:
        place["hasMap"] = record_file_url(settings, snap, region_path(loc["id"], 90))
    return place


def dataset_jsonld(
    settings: Settings, snap: AlertSnapshot, files: Sequence[tuple[str, str, str, int]] = ()
) -> JSONObject:
    """The Dataset document; ``files`` are (name, media type, sha256, size) of the downloads."""
    doi = alert_doi(settings, snap)
    url = landing_url(settings, snap)
    base = url.rsplit("/", 1)[0]
    document: JSONObject = {
        "@context": CONTEXT,
        "@type": "Dataset",
        "@id": doi_url(doi),
        "name": _dataset_title(snap),
        "description": _dataset_description(snap),
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
        "citation": [doi_url(ICECAT1_PAPER_DOI)]
        + [
            f"https://gcn.nasa.gov/circulars/{n}"
            for n in sorted(set(snap.circular_numbers.values()), key=int)
        ],
        "workExample": _work_examples(settings, snap),
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": "SkyMist alert catalogue",
            "url": f"{base}/index.html",
        },
        "distribution": _distribution(settings, snap, files),
    }
    place = sky_position(settings, snap)
    if place is not None:
        document["spatialCoverage"] = place
    if snap.retracted:
        document["creativeWorkStatus"] = "Retracted"
    first = snap.first_sent(snap.revisions[0].revision) if snap.revisions else None
    if first is not None:
        document["datePublished"] = _iso(first)
    return document


def _dataset_title(snap: AlertSnapshot) -> str:
    title = (
        f"{snap.label}: IceCube {_stream_title(snap)} neutrino alert "
        f"(run {snap.run_id}, event {snap.event_id})"
    )
    return f"RETRACTED: {title}" if snap.retracted else title


def _dataset_description(snap: AlertSnapshot) -> str:
    description = (
        f"The complete record of IceCube's realtime {_stream_title(snap)} alert {snap.label} "
        f"(event time {_iso(snap.event_time)}): the message received, every notice, VOEvent and Circular "
        "as sent, the sky scans, skymaps and localization."
    )
    if snap.retracted:
        description += f" RETRACTED: {snap.retraction_reason or 'no reason recorded'}."
    return description


def _work_examples(settings: Settings, snap: AlertSnapshot) -> list[JSONObject]:
    """The published revisions, each a CreativeWork (not a Dataset: RO-Crate would take a Dataset
    for a data entity of the crate)."""
    return [
        {
            "@type": "CreativeWork",
            "@id": doi_url(version_doi(settings, snap, r.revision)),
            "name": f"{snap.label}, revision {r.revision}",
            "identifier": doi_url(version_doi(settings, snap, r.revision)),
            "version": str(r.revision),
        }
        for r in snap.published_revisions()
    ]


def _distribution(
    settings: Settings, snap: AlertSnapshot, files: Sequence[tuple[str, str, str, int]]
) -> list[JSONObject]:
    return [
        {
            "@type": "DataDownload",
            "name": name,
            "contentUrl": record_file_url(settings, snap, name),
            "encodingFormat": media,
            "sha256": sha,
            "contentSize": f"{size} B",
        }
        for name, media, sha, size in files
    ]
