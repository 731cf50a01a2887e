"""The RO-Crate metadata (``ro-crate-metadata.json``) of a record, made with ``rocrate`` (ro-crate-py).

RO-Crate 1.3 (the ``rocrate`` package's default: ``conformsTo`` and ``@context`` name 1.3). The root
dataset carries the schema.org description of the alert (:mod:`skymist.archive.schemaorg`): its DOI
as an ``identifier`` ``PropertyValue`` (Science On Schema.org's form), the licence, the publisher and
creator (an ``Organization``: ``archive_publisher``, its ROR ``archive_publisher_ror`` as ``@id``, its
``url`` and a ``ContactPoint`` with ``circular_contact``, the realtime point of contact), the
citations (IceCat-1's DOI URL, the Circulars), the published revisions (``workExample``), the sky
position (``spatialCoverage``) and the numbers (``variableMeasured``). RO-Crate's JSON-LD is
flattened: every nested object of the schema.org document becomes a contextual entity of its own,
referenced by ``@id``. Every payload file is a ``File`` entity with its media type, size, sha256 and
what it is. Dates come from the store, never from the clock, so the same store state gives the same
bytes. Only schema.org terms are used (besides RO-Crate's own ``conformsTo``); the tests check them
against the vocabulary ro-crate-py ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from skybase.json_types import JSONObject, JSONValue
from skymist.archive.datacite_meta import _iso
from skymist.archive.snapshot import AlertSnapshot
from skymist.config import Settings

if TYPE_CHECKING:
    from rocrate.rocrate import ROCrate


class CrateFile(Protocol):
    """What the crate says of a payload file (a :class:`skymist.archive.record.RecordFile`)."""

    @property
    def path(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def media_type(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def sha256(self) -> str: ...


#: root-dataset properties taken over from the schema.org document (nested objects flattened)
_ROOT_KEYS = (
    "name",
    "description",
    "url",
    "keywords",
    "temporalCoverage",
    "dateCreated",
    "version",
    "creativeWorkStatus",
    "isAccessibleForFree",
    "measurementTechnique",
    "spatialCoverage",
    "variableMeasured",
    "workExample",
)
#: names of the contextual entities made from nested objects without an ``@id`` of their own
_LOCAL_IDS = {"spatialCoverage": "#sky-position", "variableMeasured": "#measured"}


def crate_metadata(
    settings: Settings, snap: AlertSnapshot, dataset: JSONObject, files: Sequence[CrateFile]
) -> JSONObject:
    from rocrate.rocrate import ROCrate

    crate = ROCrate(gen_preview=False)
    root = crate.root_dataset
    for key in _ROOT_KEYS:
        if key in dataset:
            root[key] = _single(_flat(crate, dataset[key], _LOCAL_IDS.get(key, f"#{key}")))
    root["datePublished"] = dataset.get("datePublished", _iso(snap.created_at))
    root["identifier"] = _doi_entity(crate, str(dataset["identifier"]))
    root["license"] = _licence_entity(crate, dataset["license"])
    publisher = _publisher_entity(crate, settings, dataset)
    root["publisher"] = publisher
    root["creator"] = publisher
    root["citation"] = _single(
        [
            _entity(crate, url, {"@type": "CreativeWork", "name": _citation_name(url), "url": url})
            for url in dataset.get("citation", [])
        ]
    )
    _add_files(crate, files)
    document: JSONObject = crate.metadata.generate()
    return document


def _doi_entity(crate: ROCrate, doi_url: str) -> dict[str, str]:
    """The DOI in Science On Schema.org's form, as RO-Crate 1.3 recommends."""
    return _entity(
        crate,
        "#doi",
        {
            "@type": "PropertyValue",
            "name": "DOI of the alert record",
            "propertyID": "https://registry.identifiers.org/registry/doi",
            "value": "doi:" + doi_url.removeprefix("https://doi.org/"),
            "url": doi_url,
        },
    )


def _licence_entity(crate: ROCrate, licence: str) -> dict[str, str]:
    return _entity(
        crate,
        licence,
        {
            "@type": "CreativeWork",
            "name": "Licence of the record",
            "description": f"The record is published under the licence at {licence}.",
            "url": licence,
        },
    )


def _publisher_entity(crate: ROCrate, settings: Settings, dataset: JSONObject) -> dict[str, str]:
    """The publisher (also the creator), with the realtime point of contact."""
    contact = _entity(
        crate,
        "#contact",
        {
            "@type": "ContactPoint",
            "name": "IceCube realtime alert point of contact",
            "contactType": "realtime alerts",
            "email": settings.circular_contact,
        },
    )
    return _entity(
        crate,
        settings.archive_publisher_ror or "#publisher",
        {
            "@type": "Organization",
            "name": dataset["publisher"]["name"],
            "url": str(settings.archive_publisher_url),
            "contactPoint": contact,
        },
    )


def _add_files(crate: ROCrate, files: Sequence[CrateFile]) -> None:
    """Every payload file as a ``File`` entity, in path order."""
    for f in sorted(files, key=lambda f: f.path):
        crate.add_file(
            f.path,
            dest_path=f.path,
            properties={
                "name": f.path.rsplit("/", 1)[-1],
                "description": f.description,
                "encodingFormat": f.media_type,
                "contentSize": str(len(f.data)),
                "sha256": f.sha256,
                "additionalType": f.role,
            },
        )


def _citation_name(url: str) -> str:
    if url.startswith("https://gcn.nasa.gov/circulars/"):
        return f"GCN Circular {url.rsplit('/', 1)[-1]}"
    if url.startswith("https://doi.org/10.3847/"):
        return "IceCat-1: the IceCube Event Catalog of Alert Tracks (Abbasi et al. 2023, ApJS 269, 25)"
    return url


def _single(value: JSONValue) -> JSONValue:
    """A list of one as its one value (RO-Crate 1.3's compact JSON-LD)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _entity(crate: ROCrate, identifier: str, properties: JSONObject) -> dict[str, str]:
    """Add a contextual entity (once per ``@id``) and return its reference."""
    from rocrate.model.contextentity import ContextEntity

    if crate.get(identifier) is None:
        crate.add(ContextEntity(crate, identifier, properties=properties))
    return {"@id": identifier}


def _flat(crate: ROCrate, value: JSONValue, local_id: str) -> JSONValue:
    """``value`` with every nested object (one with ``@type``) made a contextual entity: the object's
    own ``@id``, else ``local_id`` (``-<n>`` added for the items of a list)."""
    if isinstance(value, list):
        return _single([_flat(crate, item, f"{local_id}-{n}") for n, item in enumerate(value, start=1)])
    if not isinstance(value, dict) or "@type" not in value:
        return value
    identifier = str(value.get("@id", local_id))
    properties = {
        key: _single(_flat(crate, item, f"{local_id}-{key}"))
        for key, item in value.items()
        if key not in ("@id", "@context")
    }
    return _entity(crate, identifier, properties)
