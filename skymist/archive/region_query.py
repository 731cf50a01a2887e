"""The region query: "which alerts overlap my survey's footprint?"

``POST /regions`` with a MOC in the body (MOC 2.0 FITS, or the MOC ASCII serialization as text), or
with an empty body and ``url=`` naming a MOC file: a ``file:`` URL or a path relative to the archive,
either of which must lie inside the archive (``archive_dir``). Nothing is ever fetched from the
network: an ``http(s):`` or any other URL is refused. The answer is a VOTable 1.4 of the alerts whose
90% region (the MOC of the record, :mod:`skymist.archive.regions`) intersects the given MOC, with the
catalogue's columns; a mistake is answered with HTTP 400 and the VO error document
(``INFO name="Error"``) naming what was wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from skymist.archive.cone import AlertRegion, intersecting
from skymist.archive.regions import MAX_MOC_BYTES, MocInputError, read_moc
from skymist.config import Settings
from skymist.files import PathOutsideRootError, path_inside

MATCH_RULE = (
    "A row is returned when the alert's 90% region (a MOC: the skymap pixels inside the 90% threshold of "
    "a localized alert, or the 90% error circle of a prompt-only alert) shares at least one cell with the "
    "MOC given."
)


class RegionQueryError(ValueError):
    """A region query that cannot be answered (the message says why)."""


def local_moc_path(settings: Settings, url: str) -> Path:
    """The file a region query's ``url`` names: a ``file:`` URL or a path relative to the archive,
    inside the archive; anything else (another scheme, a path leaving the archive) is refused."""
    root = settings.archive_root
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise RegionQueryError(f"url = {url[:200]!r}: a file: URL names a local path (file:///...)")
        absolute = Path(unquote(parts.path))
        relative = os.path.relpath(absolute, root.resolve()) if absolute.is_absolute() else str(absolute)
    elif parts.scheme:
        raise RegionQueryError(
            f"url = {url[:200]!r}: only a file: URL or a path inside the archive is read (nothing is "
            "fetched from the network)"
        )
    else:
        relative = unquote(url)
    try:
        path = path_inside(root, relative)
    except PathOutsideRootError:
        raise RegionQueryError(f"url = {url[:200]!r}: not a file inside the archive ({root})") from None
    if not path.is_file():
        raise RegionQueryError(f"url = {url[:200]!r}: no such file in the archive")
    if path.stat().st_size > MAX_MOC_BYTES:
        raise RegionQueryError(f"url = {url[:200]!r}: larger than {MAX_MOC_BYTES} bytes")
    return path


def query_moc(settings: Settings, body: bytes, params: Iterable[tuple[str, str]]) -> Any:
    """The MOC a query gives: its body, else the file of its ``url`` parameter."""
    urls = [value for name, value in params if name.lower() == "url"]
    if len(urls) > 1:
        raise RegionQueryError("url is given more than once")
    try:
        if body.strip():
            if urls:
                raise RegionQueryError("give a MOC in the body or url=, not both")
            return read_moc(body)
        if not urls:
            raise RegionQueryError(
                "no MOC: POST MOC 2.0 FITS or the MOC ASCII serialization as the body, or give url= "
                "(a file: URL or a path inside the archive)"
            )
        return read_moc(local_moc_path(settings, urls[0]).read_bytes())
    except MocInputError as exc:
        raise RegionQueryError(str(exc)) from None


def region_table(regions: list[AlertRegion], moc: Any) -> Any:
    """The alerts whose 90% region intersects ``moc``, with every catalogue column."""
    from skymist.archive.catalogue import catalogue_table

    return catalogue_table([r.row for r in intersecting(regions, moc)])


def answer(
    settings: Settings,
    regions: Callable[[], list[AlertRegion]],
    body: bytes,
    params: Iterable[tuple[str, str]],
) -> tuple[int, bytes]:
    """(HTTP status, VOTable bytes) of a region query."""
    from skymist.archive.votable import error_votable, table_votable

    try:
        moc = query_moc(settings, body, list(params))
    except RegionQueryError as exc:
        return 400, error_votable(str(exc))
    table = region_table(regions(), moc)
    infos = [
        ("QUERY_STATUS", "OK"),
        ("MATCH_CRITERION", "the 90% region intersects the MOC"),
        ("MOC_SKY_FRACTION", f"{float(moc.sky_fraction):.6g}"),
    ]
    return 200, table_votable(table, description=MATCH_RULE, infos=infos, resource_name="region_query")
