"""The BagIt (RFC 8493) tag files of a record: ``bagit.txt``, ``bag-info.txt``, SHA-256 manifests.

Written here (deterministic: ``Bagging-Date`` is the alert's creation day, lines sorted) and read
back by the ``bagit`` package in :mod:`skymist.archive.verify`, which validates them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from skymist.archive.record import RecordFile
from skymist.archive.snapshot import AlertSnapshot

BAGIT_TXT = b"BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tag_files(
    snap: AlertSnapshot, payload: Sequence[RecordFile], identifier: str | None, organization: str
) -> list[tuple[str, bytes]]:
    """(path in the bag, bytes) of the tag files, the tag manifest last."""
    manifest = "".join(f"{f.sha256}  data/{f.path}\n" for f in sorted(payload, key=lambda f: f.path)).encode()
    size = sum(len(f.data) for f in payload)
    info_lines = [
        f"Bagging-Date: {snap.created_at.date().isoformat()}",
        f"External-Description: SkyMist archive record of alert {snap.label}",
        f"External-Identifier: {identifier or f'{snap.run_id}_{snap.event_id}'}",
        f"Payload-Oxum: {size}.{len(payload)}",
        f"Source-Organization: {organization}",
    ]
    bag_info = ("\n".join(info_lines) + "\n").encode()
    tags = [("bagit.txt", BAGIT_TXT), ("bag-info.txt", bag_info), (MANIFEST, manifest)]
    tag_manifest = "".join(f"{_sha(data)}  {name}\n" for name, data in sorted(tags)).encode()
    return [*tags, (TAG_MANIFEST, tag_manifest)]
