"""DataCite metadata (schema 4.5, the JSON form of DataCite's REST API) of an alert and its versions.

The alert's DOI (``doi_prefix/doi_suffix_pattern``) is the concept; every public revision N is a
version with DOI ``<concept>.rN``: versions are linked ``IsNewVersionOf`` / ``IsPreviousVersionOf``,
each ``IsVersionOf`` the concept (which ``HasVersion`` each). The GCN notice and the Circular (when
its number is known) are related identifiers (``URL``), IceCat-1 is one by its DOI; the VOEvent's
IVORN is named in a description, DataCite having no identifier type for it (:func:`_ivorn_descriptions`).
A retraction marks every
version: the title says ``RETRACTED``, a description says why and a ``Withdrawn`` date says when.

Validated with the JSON schema the ``datacite`` package ships (:func:`validate_datacite`).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from importlib import resources

from skybase.json_types import JSONObject
from skymist.alert_streams import STREAM_INFO, ivorn_for
from skymist.archive.snapshot import AlertSnapshot, RevisionRecord
from skymist.config import Settings

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
SCHEMA_FILE = "schemas/datacite-v4.5.json"
ICECAT1_DOI = "10.7910/DVN/SCRUCD"
ICECAT1_BIBCODE = "2023ApJS..269...25A"
#: IceCat-1, Abbasi et al. 2023, ApJS 269, 25 (arXiv:2304.01174): the paper's DOI
ICECAT1_PAPER_DOI = "10.3847/1538-4365/acfa95"


def alert_doi(settings: Settings, snap: AlertSnapshot) -> str:
    suffix = settings.doi_suffix_pattern.format(run_id=snap.run_id, event_id=snap.event_id, name=snap.label)
    return f"{settings.doi_prefix}/{suffix}"


def version_doi(settings: Settings, snap: AlertSnapshot, revision: int) -> str:
    return f"{alert_doi(settings, snap)}.r{revision}"


def landing_url(settings: Settings, snap: AlertSnapshot) -> str:
    return f"{settings.catalogue_base_url.rstrip('/')}/{snap.folder}.html"


def record_file_url(settings: Settings, snap: AlertSnapshot, path: str) -> str:
    """The public URL of a file of the alert's record (``path`` under the bag's ``data/``)."""
    return f"{settings.catalogue_base_url.rstrip('/')}/{snap.folder}/data/{path}"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stream_title(snap: AlertSnapshot) -> str:
    info = STREAM_INFO.get(snap.stream)
    return f"{info['title']} {info['topology'].lower()}" if info else "unclassified event"


def _position_text(snap: AlertSnapshot, rev: RevisionRecord) -> str:
    loc = snap.localization_of(rev.revision)
    if loc is not None:
        return (
            f"Best fit RA {loc['ra_deg'] % 360:.2f} "
            f"(+{loc['ra_plus_90_deg']:.2f} / -{loc['ra_minus_90_deg']:.2f}) deg, "
            f"Dec {loc['dec_deg']:+.2f} (+{loc['dec_plus_90_deg']:.2f} / -{loc['dec_minus_90_deg']:.2f}) "
            f"(J2000, 90% containment box, '{loc['thresholds']}' thresholds), 90% area "
            f"{loc['area_90_deg2']:.2f} sq. deg, from the sky scan {loc['scan_ref']}."
        )
    err = f", 90% error radius {rev.err90_deg:.2f} deg" if rev.err90_deg is not None else ""
    return f"RA {rev.ra_deg % 360:.2f} deg, Dec {rev.dec_deg:+.2f} deg (J2000, online reconstruction{err})."


def _title(snap: AlertSnapshot, revision: int | None) -> str:
    what = f"revision {revision}" if revision is not None else "all revisions"
    title = (
        f"{snap.label} (run {snap.run_id}, event {snap.event_id}): IceCube {_stream_title(snap)} "
        f"neutrino alert, {what}"
    )
    return f"RETRACTED: {title}" if snap.retracted else title


def _common(settings: Settings, snap: AlertSnapshot) -> JSONObject:
    publisher = settings.archive_publisher
    year = (snap.first_sent(snap.revisions[0].revision) if snap.revisions else None) or snap.created_at
    return {
        "creators": [{"name": publisher, "nameType": "Organizational"}],
        "publisher": {"name": publisher},
        "publicationYear": f"{year.year:04d}",
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Neutrino alert record"},
        "subjects": [
            {"subject": "Neutrino astronomy"},
            {"subject": "High-energy astrophysics"},
            {"subject": f"IceCube {_stream_title(snap)} alert"},
        ],
        "rightsList": [{"rights": "CC0 1.0 Universal", "rightsUri": settings.archive_license_url}],
        "alternateIdentifiers": [
            {
                "alternateIdentifier": f"{snap.run_id}_{snap.event_id}",
                "alternateIdentifierType": "RUNID_EVENTID",
            }
        ],
        "language": "en",
        "url": landing_url(settings, snap),
        "schemaVersion": SCHEMA_VERSION,
    }


def _retraction(snap: AlertSnapshot) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(descriptions, dates) that mark a retracted alert."""
    if not snap.retracted:
        return [], []
    reason = snap.retraction_reason or "no reason recorded"
    descriptions = [{"description": f"RETRACTED: {reason}", "descriptionType": "Other"}]
    when = snap.retracted_at
    dates = [{"date": _iso(when), "dateType": "Withdrawn", "dateInformation": reason}] if when else []
    return descriptions, dates


def _ivorn_descriptions(snap: AlertSnapshot, revision: int) -> list[dict[str, str]]:
    """The revision's VOEvent IVORN, as a description.

    Not a related identifier: DataCite 4.5's ``relatedIdentifierType`` is a closed list (Appendix 1)
    with no type for a URI in general. ``URL`` is documented as a web address
    (``scheme://domain:port/path``, something a browser fetches) and ``URN`` as ``urn:<NID>:<NSS>``;
    an IVORN (``ivo://nasa.gsfc.gcn/AMON#...``) is neither: it is resolved by the IVOA registry and
    VOEvent brokers, not by HTTP. Typed ``URL``, DataCite's consumers took it for a broken link.
    """
    if snap.stream not in STREAM_INFO:
        return []
    ivorn = ivorn_for(snap.stream, snap.event_time, snap.run_id, snap.event_id, revision)
    return [{"description": f"VOEvent IVORN of revision {revision}: {ivorn}", "descriptionType": "Other"}]


def _icecat1_related() -> dict[str, str]:
    return {
        "relatedIdentifier": ICECAT1_PAPER_DOI,
        "relatedIdentifierType": "DOI",
        "relationType": "References",
        "resourceTypeGeneral": "JournalArticle",
    }


def _gcn_related(snap: AlertSnapshot, revision: int) -> list[dict[str, str]]:
    related: list[dict[str, str]] = []
    if snap.stream in STREAM_INFO:
        folder = "notices_amon_icecube_cascade" if snap.stream == "CASCADE" else "notices_amon_g_b"
        related.append(
            {
                "relatedIdentifier": f"https://gcn.gsfc.nasa.gov/{folder}/{snap.run_id}_{snap.event_id}.amon",
                "relatedIdentifierType": "URL",
                "relationType": "IsDerivedFrom",
                "resourceTypeGeneral": "Text",
            }
        )
    for number in sorted(set(snap.circular_numbers.values()), key=int):
        related.append(
            {
                "relatedIdentifier": f"https://gcn.nasa.gov/circulars/{number}",
                "relatedIdentifierType": "URL",
                "relationType": "IsDocumentedBy",
                "resourceTypeGeneral": "Text",
            }
        )
    return related


def version_record(settings: Settings, snap: AlertSnapshot, rev: RevisionRecord) -> JSONObject:
    """The DataCite attributes of one public revision of the alert."""
    related = _version_related(settings, snap, rev)
    gone_descriptions, gone_dates = _retraction(snap)
    dates = _version_dates(snap, rev)
    doi = version_doi(settings, snap, rev.revision)
    return {
        "doi": doi,
        "prefix": settings.doi_prefix,
        "suffix": doi.split("/", 1)[1],
        **_common(settings, snap),
        "titles": [{"title": _title(snap, rev.revision)}],
        "version": str(rev.revision),
        "dates": dates + gone_dates,
        "descriptions": [
            {
                "description": (
                    f"IceCube realtime {_stream_title(snap)} alert {snap.label} at {_iso(snap.event_time)}, "
                    f"revision {rev.revision}: every byte received and sent, the scans, skymaps and "
                    "localization numbers, kept as a BagIt-packaged RO-Crate."
                ),
                "descriptionType": "Abstract",
            },
            {
                "description": f"Sky position (coverage): {_position_text(snap, rev)}",
                "descriptionType": "TechnicalInfo",
            },
            *_ivorn_descriptions(snap, rev.revision),
            *gone_descriptions,
        ],
        "relatedIdentifiers": related,
        "formats": ["application/json", "application/xml", "application/fits", "image/png"],
    }


def _version_related(settings: Settings, snap: AlertSnapshot, rev: RevisionRecord) -> list[dict[str, str]]:
    """A revision's related identifiers: the concept DOI, the revisions before and after it, its
    Circulars and IceCat-1."""
    versions = [r.revision for r in snap.published_revisions()] or [rev.revision]
    concept = alert_doi(settings, snap)
    related: list[dict[str, str]] = [
        {"relatedIdentifier": concept, "relatedIdentifierType": "DOI", "relationType": "IsVersionOf"}
    ]
    earlier = [v for v in versions if v < rev.revision]
    later = [v for v in versions if v > rev.revision]
    if earlier:
        related.append(
            {
                "relatedIdentifier": version_doi(settings, snap, earlier[-1]),
                "relatedIdentifierType": "DOI",
                "relationType": "IsNewVersionOf",
            }
        )
    if later:
        related.append(
            {
                "relatedIdentifier": version_doi(settings, snap, later[0]),
                "relatedIdentifierType": "DOI",
                "relationType": "IsPreviousVersionOf",
            }
        )
    related += _gcn_related(snap, rev.revision)
    related.append(_icecat1_related())
    return related


def _version_dates(snap: AlertSnapshot, rev: RevisionRecord) -> list[dict[str, str]]:
    """A revision's dates: the event (collected), the row (created) and its first sending (issued)."""
    dates = [{"date": _iso(snap.event_time), "dateType": "Collected", "dateInformation": "event time (UTC)"}]
    dates.append({"date": _iso(rev.created_at), "dateType": "Created"})
    issued = snap.first_sent(rev.revision)
    if issued is not None:
        dates.append({"date": _iso(issued), "dateType": "Issued"})
    return dates


def concept_record(settings: Settings, snap: AlertSnapshot) -> JSONObject:
    """The DataCite attributes of the alert as a whole (the concept DOI, latest numbers)."""
    doi = alert_doi(settings, snap)
    versions = snap.published_revisions()
    related = [
        {
            "relatedIdentifier": version_doi(settings, snap, rev.revision),
            "relatedIdentifierType": "DOI",
            "relationType": "HasVersion",
        }
        for rev in versions
    ]
    latest = versions[-1] if versions else (snap.revisions[-1] if snap.revisions else None)
    if latest is not None:
        related += _gcn_related(snap, latest.revision)
    related.append(_icecat1_related())
    gone_descriptions, gone_dates = _retraction(snap)
    descriptions = [
        {
            "description": (
                f"IceCube realtime {_stream_title(snap)} alert {snap.label} at {_iso(snap.event_time)}: "
                "the record of every revision."
            ),
            "descriptionType": "Abstract",
        }
    ]
    if latest is not None:
        descriptions.append(
            {
                "description": f"Sky position (coverage): {_position_text(snap, latest)}",
                "descriptionType": "TechnicalInfo",
            }
        )
        descriptions += _ivorn_descriptions(snap, latest.revision)
    return {
        "doi": doi,
        "prefix": settings.doi_prefix,
        "suffix": doi.split("/", 1)[1],
        **_common(settings, snap),
        "titles": [{"title": _title(snap, None)}],
        "dates": [
            {"date": _iso(snap.event_time), "dateType": "Collected", "dateInformation": "event time (UTC)"},
            {"date": _iso(snap.created_at), "dateType": "Created"},
            *gone_dates,
        ],
        "descriptions": descriptions + gone_descriptions,
        "relatedIdentifiers": related,
    }


@lru_cache(maxsize=1)
def datacite_schema() -> JSONObject:
    """DataCite's JSON schema (4.5) as the ``datacite`` package ships it."""
    text = (resources.files("datacite") / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: JSONObject = json.loads(text)
    return schema


def validate_datacite(record: JSONObject) -> list[str]:
    """The schema violations of ``record`` (empty: valid), each naming the field."""
    from jsonschema import FormatChecker
    from jsonschema.validators import validator_for

    schema = datacite_schema()
    validator = validator_for(schema)(schema, format_checker=FormatChecker())
    problems = []
    for error in sorted(validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {error.message}")
    return problems
