"""``skymist archive verify``: is a record whole and valid? One line per problem, naming the file.

Checks: the BagIt bag (``bagit``: structure, Payload-Oxum, every SHA-256 of payload and tag files);
the RO-Crate (``rocrate`` reads it; every file it names is present with the sha256 it says); every
file ``record.json`` names is present; every DataCite record valid against DataCite's JSON schema.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from skymist.archive.datacite_meta import validate_datacite
from skymist.files import PathOutsideRootError, path_inside


def _bag_problems(folder: Path) -> list[str]:
    import bagit

    logging.getLogger("bagit").setLevel(logging.WARNING)  # it logs every file it checks at INFO
    try:
        bag = bagit.Bag(str(folder))
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        details = getattr(exc, "details", None) or []
        if details:
            return [f"{folder}: {detail}" for detail in details]
        return [f"{folder}: {exc.message}"]
    except bagit.BagError as exc:
        return [f"{folder}: not a valid bag: {exc}"]
    return []


def _named(data: Path, name: object, source: str, problems: list[str]) -> Path | None:
    """The file ``name`` (read from ``source``) in the record's ``data`` folder; a name that is not
    a path inside it is a problem (never followed)."""
    try:
        return path_inside(data, str(name))
    except PathOutsideRootError as exc:
        problems.append(f"{data}: {source} names a file outside the record: {exc}")
        return None


def _crate_problems(folder: Path) -> list[str]:
    from rocrate.rocrate import ROCrate

    data = folder / "data"
    problems: list[str] = []
    try:
        crate = ROCrate(str(data))
    except Exception as exc:  # rocrate raises plain ValueError/KeyError for a broken crate
        return [f"{data / 'ro-crate-metadata.json'}: not a readable RO-Crate ({type(exc).__name__}: {exc})"]
    for entity in crate.get_entities():
        if "File" not in entity.type:
            continue
        path = _named(data, str(entity.id), "ro-crate-metadata.json", problems)
        if path is None:
            continue
        if not path.is_file():
            problems.append(f"{path}: named in ro-crate-metadata.json but missing")
            continue
        expected = entity.get("sha256")
        if expected and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            problems.append(f"{path}: sha256 differs from ro-crate-metadata.json")
    return problems


def _index_problems(folder: Path) -> list[str]:
    data = folder / "data"
    index_path = data / "record.json"
    try:
        index: dict[str, Any] = json.loads(index_path.read_bytes())
    except OSError:
        return [f"{index_path}: missing"]
    except ValueError as exc:
        return [f"{index_path}: not JSON ({exc})"]
    problems: list[str] = []
    for name in _files_named(index):
        path = _named(data, name, "record.json", problems)
        if path is not None and not path.is_file():
            problems.append(f"{path}: named in record.json but missing")
    return problems + _datacite_problems(data, index.get("metadata_files", []))


def _files_named(index: dict[str, Any]) -> list[str]:
    """Every file ``record.json`` names: audit, metadata, inputs, products, scans."""
    named: list[str] = [index.get("audit_file", "audit.json"), *index.get("metadata_files", [])]
    for key in ("inputs", "sent", "localizations", "skymaps", "regions"):
        named += [entry["file"] for entry in index.get(key, [])]
    for scan in index.get("scans", []):
        named += [scan[k] for k in ("final_file", "partial_file") if k in scan]
    return named


def _datacite_problems(data: Path, metadata_files: list[str]) -> list[str]:
    """The DataCite records among the metadata files, checked against DataCite's schema."""
    problems: list[str] = []
    for name in metadata_files:
        path = _named(data, name, "record.json", [])
        if path is None or not name.startswith("metadata/datacite") or not path.is_file():
            continue
        try:
            record = json.loads(path.read_bytes())
        except ValueError as exc:
            problems.append(f"{path}: not JSON ({exc})")
            continue
        problems += [f"{path}: DataCite schema: {p}" for p in validate_datacite(record)]
    return problems


def verify_record(folder: Path) -> list[str]:
    """Every problem of the record in ``folder`` (empty: it is whole and valid)."""
    if not folder.is_dir():
        return [f"{folder}: no record"]
    return _bag_problems(folder) + _crate_problems(folder) + _index_problems(folder)
