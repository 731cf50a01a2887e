"""The gamma-ray catalogue cross-match of a Circular: the sources inside the 90% region, or the nearest.

The catalogue is Fermi-LAT's 4FGL (its releases ``gll_psc_v*.fit``): one row per source with
``Source_Name`` (e.g. ``4FGL J0307.0-0314``), ``RAJ2000`` and ``DEJ2000`` (degrees), and its association
(``ASSOC1``) and class (``CLASS1``). SkyMist ships the 4FGL-DR4 table in a compact form
(``data/gamma_catalogue.csv.gz``: name, position, association and class, with the provenance of the FITS
file it was converted from in its ``#`` header lines) and uses it unless the setting
``gamma_catalogue_path`` names another table: a FITS file in 4FGL's column layout or a compact table.
``skymist catalogue gamma refresh FILE`` converts a newer release (:func:`write_compact`).

A source is inside the region when the multi-order pixel holding its position is one of the region's
pixels: the same pixels whose area the Circular and the FITS header state.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.analysis import SkymapAnalysis

COLUMNS = ("Source_Name", "RAJ2000", "DEJ2000")
#: optional 4FGL columns kept in the compact table (empty where the FITS file has none)
EXTRA_COLUMNS = ("ASSOC1", "CLASS1")
#: the compact table shipped with SkyMist (converted from Fermi-LAT's 4FGL-DR4, gll_psc_v35.fit)
SHIPPED_FILE = "gamma_catalogue.csv.gz"
COMPACT_HEADER = ("name", "ra_deg", "dec_deg", "assoc", "class")
#: keywords of the FITS file's primary header kept as provenance (when present)
_HEADER_KEYS = ("DATE", "CREATOR", "VERSION", "RELEASE")


class CatalogueError(ValueError):
    """The configured catalogue cannot be read (the message names the file and the column)."""


@dataclass(frozen=True)
class CatalogueSource:
    name: str
    ra_deg: float
    dec_deg: float
    distance_deg: float  # from the best fit
    association: str | None = None  # the 4FGL association (ASSOC1), e.g. PKS 1502+106


@dataclass(frozen=True)
class CatalogueMatch:
    """What the Circular says about the catalogue."""

    catalogue_name: str  # e.g. "Fermi 4FGL-DR4"
    inside: tuple[CatalogueSource, ...]  # inside the 90% region, nearest first
    nearest: CatalogueSource | None  # the nearest source of all (None: an empty catalogue)


@dataclass(frozen=True, eq=False)
class Catalogue:
    names: tuple[str, ...]
    ra_deg: NDArray[np.float64]
    dec_deg: NDArray[np.float64]
    associations: tuple[str, ...] = ()  # per source ('' for none); empty: not known
    classes: tuple[str, ...] = ()
    provenance: Mapping[str, str] = field(default_factory=dict)


def gamma_catalogue(path: str | Path | None) -> Catalogue:
    """The catalogue the Circular uses: ``gamma_catalogue_path`` when set, else the shipped 4FGL-DR4."""
    return shipped_catalogue() if path is None else load_catalogue(path)


def shipped_catalogue() -> Catalogue:
    """The compact 4FGL-DR4 table shipped as package data (read once per process)."""
    return _shipped()


@functools.lru_cache(maxsize=1)
def _shipped() -> Catalogue:
    data = resources.files("skymist.circulars").joinpath("data").joinpath(SHIPPED_FILE).read_bytes()
    return _read_compact(data, f"skymist/circulars/data/{SHIPPED_FILE}")


def load_catalogue(path: str | Path) -> Catalogue:
    """Read a 4FGL-layout FITS table or a compact table (``.csv`` / ``.csv.gz``; cached per path and
    modification time)."""
    file = Path(path)
    try:
        stamp = file.stat().st_mtime_ns
    except OSError as exc:
        raise CatalogueError(f"gamma_catalogue_path = {str(file)!r}: {exc.strerror}") from None
    return _load(str(file), stamp)


@functools.lru_cache(maxsize=4)
def _load(path: str, _stamp: int) -> Catalogue:
    if path.endswith((".csv", ".csv.gz")):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CatalogueError(f"gamma_catalogue_path = {path!r}: {exc.strerror}") from None
        return _read_compact(data, f"gamma_catalogue_path = {path!r}")
    return _read_fits(path)


def _read_fits(path: str) -> Catalogue:
    from astropy.io import fits

    try:
        with fits.open(path) as hdus:
            table = next((h for h in hdus if isinstance(h, fits.BinTableHDU)), None)
            if table is None:
                raise CatalogueError(f"gamma_catalogue_path = {path!r}: no binary table")
            names = list(table.columns.names)
            for column in COLUMNS:
                if column not in names:
                    raise CatalogueError(
                        f"gamma_catalogue_path = {path!r}: column {column!r} missing "
                        f"(4FGL layout: {', '.join(COLUMNS)}; found {', '.join(names[:8])})"
                    )
            data = table.data
            source_names = tuple(str(n).strip() for n in data["Source_Name"])
            ra = np.asarray(data["RAJ2000"], dtype=np.float64)
            dec = np.asarray(data["DEJ2000"], dtype=np.float64)
            extra = {
                column: tuple(str(v).strip() for v in data[column]) if column in names else ()
                for column in EXTRA_COLUMNS
            }
            header = hdus[0].header
            provenance = {
                "converted_from": Path(path).name,
                "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                "extension": str(table.name),
                "rows": str(len(source_names)),
                **{key.lower(): str(header[key]) for key in _HEADER_KEYS if key in header},
            }
    except OSError as exc:
        raise CatalogueError(f"gamma_catalogue_path = {path!r}: not a readable FITS file ({exc})") from None
    _check_positions(f"gamma_catalogue_path = {path!r}", source_names, ra, dec, "RAJ2000", "DEJ2000")
    return Catalogue(source_names, ra % 360.0, dec, extra["ASSOC1"], extra["CLASS1"], provenance)


def _check_positions(
    where: str,
    names: tuple[str, ...],
    ra: NDArray[np.float64],
    dec: NDArray[np.float64],
    ra_name: str,
    dec_name: str,
) -> None:
    bad = ~(np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0))
    if bad.any():
        row = int(np.argmax(bad))
        raise CatalogueError(
            f"{where}: row {row} ({names[row]!r}) has {ra_name} = {ra[row]!r}, {dec_name} = {dec[row]!r}"
        )


def _read_compact(data: bytes, where: str) -> Catalogue:
    """A compact table: ``# key: value`` provenance lines, then CSV with :data:`COMPACT_HEADER`."""
    try:
        text = gzip.decompress(data).decode("utf-8") if data[:2] == b"\x1f\x8b" else data.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{where}: not a readable compact table ({exc})") from None
    provenance: dict[str, str] = {}
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            provenance[key.strip()] = value.strip()
        elif line:
            body.append(line)
    rows = list(csv.reader(body))
    if not rows or tuple(rows[0]) != COMPACT_HEADER:
        raise CatalogueError(f"{where}: the header must be {','.join(COMPACT_HEADER)}")
    names: list[str] = []
    values: list[tuple[float, float]] = []
    for number, row in enumerate(rows[1:], start=1):
        if len(row) != len(COMPACT_HEADER):
            raise CatalogueError(f"{where}: row {number} has {len(row)} fields, not {len(COMPACT_HEADER)}")
        try:
            values.append((float(row[1]), float(row[2])))
        except ValueError:
            raise CatalogueError(
                f"{where}: row {number} ({row[0]!r}): ra_deg/dec_deg are not numbers"
            ) from None
        names.append(row[0])
    ra = np.array([v[0] for v in values], dtype=np.float64)
    dec = np.array([v[1] for v in values], dtype=np.float64)
    _check_positions(where, tuple(names), ra, dec, "ra_deg", "dec_deg")
    associations = tuple(r[3] for r in rows[1:])
    classes = tuple(r[4] for r in rows[1:])
    return Catalogue(tuple(names), ra % 360.0, dec, associations, classes, provenance)


def write_compact(fits_path: str | Path, release: str) -> bytes:
    """The compact table (gzip, byte-reproducible) of a 4FGL-layout FITS file, ``release`` naming it
    (e.g. ``4FGL-DR4 (gll_psc_v35)``), its provenance in ``#`` lines."""
    catalogue = _read_fits(str(fits_path))
    lines = [f"# release: {release}"]
    lines += [f"# {key}: {value}" for key, value in catalogue.provenance.items()]
    lines.append("# columns: Source_Name, RAJ2000, DEJ2000 (deg, 5 decimals), ASSOC1, CLASS1")
    lines.append("# refresh: skymist catalogue gamma refresh FILE (see skymist/circulars/catalogue.py)")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COMPACT_HEADER)
    n = len(catalogue.names)
    assoc = catalogue.associations or ("",) * n
    klass = catalogue.classes or ("",) * n
    for i in range(n):
        ra, dec = float(catalogue.ra_deg[i]), float(catalogue.dec_deg[i])
        writer.writerow([catalogue.names[i], f"{ra:.5f}", f"{dec:.5f}", assoc[i], klass[i]])
    text = "\n".join(lines) + "\n" + out.getvalue()
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def crossmatch(analysis: SkymapAnalysis, catalogue: Catalogue, catalogue_name: str) -> CatalogueMatch:
    """The catalogue's sources inside ``analysis``'s 90% region, and the nearest source."""
    if not catalogue.names:
        return CatalogueMatch(catalogue_name, (), None)
    moc = analysis.multiorder
    pixels = moc.lookup_radec(catalogue.ra_deg, catalogue.dec_deg)
    inside = analysis.mask_90[pixels]
    best = analysis.best_fit
    r1, d1 = np.radians(best.ra_deg), np.radians(best.dec_deg)
    r2, d2 = np.radians(catalogue.ra_deg), np.radians(catalogue.dec_deg)
    cos_d = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(r1 - r2)
    distances = np.degrees(np.arccos(np.clip(cos_d, -1.0, 1.0)))

    def source(i: int) -> CatalogueSource:
        ra, dec = float(catalogue.ra_deg[i]), float(catalogue.dec_deg[i])
        association = catalogue.associations[i] if catalogue.associations else ""
        return CatalogueSource(catalogue.names[i], ra, dec, float(distances[i]), association or None)

    order = np.argsort(distances, kind="stable")
    listed = tuple(source(int(i)) for i in order if inside[int(i)])
    return CatalogueMatch(catalogue_name, listed, source(int(order[0])))
