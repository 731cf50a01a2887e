"""``docker_tag`` of ``POST /scan``: resolved and checked against the known skymap_scanner tags.

The known tags are the entries ``skymap_scanner:<tag>`` of ``scanner_images_dir`` (laid out as
SkyDriver's CVMFS image directory) or, without it, the packaged list ``scanner_tags.txt``.
A tag is taken without its ``v`` prefix. ``latest`` resolves to the newest ``X.Y.Z`` tag, ``N``
and ``N.M`` to the newest ``N.*.*`` / ``N.M.*``; any other tag must be known as it is. An
``X.Y.Z`` tag older than ``min_tag`` is refused; other tags (branch builds) cannot be ordered and
are accepted when known.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Final

_XYZ: Final = re.compile(r"\d+\.\d+\.\d+")
_PARTIAL: Final = re.compile(r"\d+(\.\d+)?")
_TAG: Final = re.compile(r"[\w][\w.-]{0,127}")
IMAGE_PREFIX: Final = "skymap_scanner:"


class TagNotFound(ValueError):  # noqa: N818
    """No known image has this tag."""


class TagTooOld(ValueError):  # noqa: N818
    """The tag is older than the minimum supported one."""


def _version(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.split("."))


def strip_v(tag: str) -> str:
    return tag[1:] if tag[:1] in ("v", "V") and tag[1:2].isdigit() else tag


def _newest_first(known: frozenset[str]) -> list[str]:
    """The ``X.Y.Z`` tags among ``known``, newest first."""
    return sorted((t for t in known if _XYZ.fullmatch(t)), key=_version, reverse=True)


def packaged_tags() -> frozenset[str]:
    text = resources.files("skyscan.server").joinpath("scanner_tags.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def directory_tags(directory: Path) -> frozenset[str]:
    return frozenset(
        path.name.removeprefix(IMAGE_PREFIX)
        for path in directory.glob(f"{IMAGE_PREFIX}*")
        if path.name.removeprefix(IMAGE_PREFIX)
    )


class TagCatalogue:
    """The tags ``POST /scan`` accepts (read once per resolution: a directory may change)."""

    def __init__(self, images_dir: Path | None, min_tag: str) -> None:
        self.images_dir = images_dir
        self.min_tag = strip_v(min_tag)

    def known(self) -> frozenset[str]:
        return directory_tags(self.images_dir) if self.images_dir is not None else packaged_tags()

    def resolve(self, given: str) -> str:
        """The concrete tag for ``given``, or :class:`TagNotFound` / :class:`TagTooOld`."""
        known = self.known()
        return self._resolve(given, known, _newest_first(known))

    def _resolve(self, given: str, known: frozenset[str], versions: list[str]) -> str:
        tag = strip_v(given.strip())
        if not _TAG.fullmatch(tag):
            raise TagNotFound(given)
        if tag in known:
            resolved = tag
        elif tag == "latest" and versions:
            resolved = versions[0]
        elif _PARTIAL.fullmatch(tag) and (matching := [v for v in versions if v.startswith(tag + ".")]):
            resolved = matching[0]
        else:
            raise TagNotFound(given)
        ordered = _XYZ.fullmatch(resolved) and _XYZ.fullmatch(self.min_tag)
        if ordered and _version(resolved) < _version(self.min_tag):
            raise TagTooOld(resolved)
        return resolved

    def accepted(self) -> list[str]:
        """Every ``docker_tag`` that :meth:`resolve` accepts today (surrounding whitespace
        aside), sorted: each known tag, with a ``v``/``V`` prefix on a version, ``latest`` and
        the ``N`` / ``N.M`` prefixes of the versions; for the API's own document."""
        known = self.known()
        versions = _newest_first(known)
        candidates = {"latest"}
        for tag in known:
            candidates.update({tag, f"v{tag}", f"V{tag}"})
            if _XYZ.fullmatch(tag):
                major, minor, _ = tag.split(".")
                for prefix in (major, f"{major}.{minor}"):
                    candidates.update({prefix, f"v{prefix}", f"V{prefix}"})
        accepted = []
        for candidate in sorted(candidates):
            try:
                self._resolve(candidate, known, versions)
            except (TagNotFound, TagTooOld):
                continue
            accepted.append(candidate)
        return accepted
