"""The RO-Crate metadata (``ro-crate-metadata.json``) of a record, made with ``rocrate`` (ro-crate-py).

The root dataset carries the schema.org description of the alert (DOI as ``identifier``); every
payload file is a ``File`` entity with its media type, size, sha256 and what it is. Dates come from
the store, never from the clock, so the same store state gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from skymist.archive.datacite_meta import _iso
from skymist.archive.snapshot import AlertSnapshot

if TYPE_CHECKING:
    from skymist.archive.record import RecordFile

#: root-dataset properties taken over from the schema.org document
_ROOT_KEYS = (
    "name",
    "description",
    "identifier",
    "url",
    "license",
    "keywords",
    "temporalCoverage",
    "version",
    "creativeWorkStatus",
    "citation",
)


def crate_metadata(
    snap: AlertSnapshot, dataset: dict[str, Any], files: Sequence[RecordFile]
) -> dict[str, Any]:
    from rocrate.rocrate import ROCrate

    crate = ROCrate(gen_preview=False)
    root = crate.root_dataset
    for key in _ROOT_KEYS:
        if key in dataset:
            root[key] = dataset[key]
    root["datePublished"] = dataset.get("datePublished", _iso(snap.created_at))
    publisher = crate.add(_organization(crate, dataset["publisher"]["name"]))
    root["publisher"] = publisher
    root["creator"] = publisher
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
    document: dict[str, Any] = crate.metadata.generate()
    return document


def _organization(crate: Any, name: str) -> Any:
    from rocrate.model.contextentity import ContextEntity

    return ContextEntity(crate, "#publisher", properties={"@type": "Organization", "name": name})
