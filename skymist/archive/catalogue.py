"""The alert catalogue: IceCat-1's columns plus areas, thresholds, reconstruction, revision,
retraction, DOI and skymap URLs; one row per alert (its latest revision) or per revision.

Positions, errors and areas are given as stored (FITS, VOTable, Parquet); the CSV rounds them to
0.01 deg as IceCat-1 publishes them. A refined revision's errors are its 90% box (RA not multiplied
by cos Dec), a prompt revision's the 90% circle (RA half-width asin(sin r / cos Dec)). A 90% region
that holds a celestial pole spans every RA: its RA errors are 180 deg and ``RA_FULL_RANGE`` says so.
Written by astropy tables, with units, UCDs (IVOA UCD1+) and descriptions in the FITS and VOTable
headers: CSV, FITS, VOTable or Parquet.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from skybase.json_types import JSONObject
from skybase.times import modified_julian_date
from skymist.archive.datacite_meta import alert_doi, record_file_url
from skymist.archive.formats import FORMATS as FORMATS  # where the exporters' callers find it
from skymist.archive.formats import Format
from skymist.archive.regions import region_path
from skymist.archive.snapshot import AlertSnapshot, LocalizationRecord, RevisionRecord, take_snapshot
from skymist.config import Settings
from skymist.store.models import Alert

if TYPE_CHECKING:
    from astropy.table import Table

MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv",
    "fits": "application/fits",
    "votable": "application/x-votable+xml",
    "parquet": "application/vnd.apache.parquet",
}
EXTENSIONS: dict[Format, str] = {"csv": "csv", "fits": "fits", "votable": "vot", "parquet": "parquet"}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Literal["str", "int", "float", "bool"]
    unit: str | None
    description: str
    ucd: str | None = None
    """IVOA UCD1+ of the column (VOTable ``ucd``, FITS ``TUCDn``)."""


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("NAME", "str", None, "Public name of the alert (IceCube-YYMMDDA)", "meta.id;meta.main"),
    ColumnSpec("RUNID", "int", None, "IceCube DAQ run id", "meta.id.part"),
    ColumnSpec("EVENTID", "int", None, "IceCube DAQ event id (unique with RUNID)", "meta.id.part"),
    ColumnSpec("START", "str", None, "Date and time of the event (UTC)", "time.epoch"),
    ColumnSpec("EVENTMJD", "float", "d", "Modified Julian date of the event (UTC)", "time.epoch"),
    ColumnSpec("I3TYPE", "str", None, "Alert stream (gold, bronze, cascade)", "meta.code.class"),
    ColumnSpec("RA", "float", "deg", "Right ascension of the best fit (J2000)", "pos.eq.ra;meta.main"),
    ColumnSpec(
        "RA_ERR_PLUS", "float", "deg", "90% upper extent in RA (not times cos Dec)", "stat.error;pos.eq.ra"
    ),
    ColumnSpec(
        "RA_ERR_MINUS", "float", "deg", "90% lower extent in RA (not times cos Dec)", "stat.error;pos.eq.ra"
    ),
    ColumnSpec("DEC", "float", "deg", "Declination of the best fit (J2000)", "pos.eq.dec;meta.main"),
    ColumnSpec("DEC_ERR_PLUS", "float", "deg", "90% upper extent in Dec", "stat.error;pos.eq.dec"),
    ColumnSpec("DEC_ERR_MINUS", "float", "deg", "90% lower extent in Dec", "stat.error;pos.eq.dec"),
    ColumnSpec(
        "ENERGY", "float", "TeV", "Most probable neutrino energy", "phys.energy;phys.particle.neutrino"
    ),
    ColumnSpec("FAR", "float", "yr-1", "False alarm rate", "stat.falsePositive"),
    ColumnSpec(
        "SIGNAL", "float", None, "Signalness: probability of astrophysical origin", "stat.probability"
    ),
    ColumnSpec("AREA_50", "float", "deg2", "Area of the 50% region", "phys.angArea"),
    ColumnSpec("AREA_90", "float", "deg2", "Area of the 90% region", "phys.angArea"),
    ColumnSpec(
        "RA_FULL_RANGE",
        "bool",
        None,
        "The 90% region holds a celestial pole: it spans every RA (RA_ERR_PLUS/MINUS are 180)",
        "meta.code",
    ),
    ColumnSpec(
        "THRESHOLDS",
        "str",
        None,
        "Threshold set of the regions (wilks, calibrated, hpd, circle)",
        "meta.code",
    ),
    ColumnSpec(
        "RECO_ALGO",
        "str",
        None,
        "Reconstruction of the position (an imported scan says so, with the file's format)",
        "meta.code",
    ),
    ColumnSpec(
        "REVISION", "int", None, "Alert revision of this row (0 prompt, 1 refined, ...)", "meta.version"
    ),
    ColumnSpec("RETRACTED", "bool", None, "The alert was retracted", "meta.code.status"),
    ColumnSpec("DOI", "str", None, "DOI of the alert record", "meta.ref.doi"),
    ColumnSpec("SKYMAP_FITS_URL", "str", None, "Multi-order FITS skymap", "meta.ref.url"),
    ColumnSpec("SKYMAP_FLAT_URL", "str", None, "Flat HEALPix FITS skymap (2 delta-llh)", "meta.ref.url"),
    ColumnSpec("SKYMAP_PNG_URL", "str", None, "Picture of the skymap", "meta.ref.url;meta.preview"),
    ColumnSpec(
        "MOC_50_URL",
        "str",
        None,
        "50% region as an IVOA MOC 2.0 FITS file (localized alerts)",
        "meta.ref.url",
    ),
    ColumnSpec(
        "MOC_90_URL",
        "str",
        None,
        "90% region as an IVOA MOC 2.0 FITS file (localized alerts)",
        "meta.ref.url",
    ),
)


#: the RA half-width of a region that holds a pole: every RA
FULL_RA_DEG = 180.0


def _f(value: float | None) -> float | None:
    return None if value is None else float(value)


def reco_label(snap: AlertSnapshot, rev: RevisionRecord, scan_ref: str) -> str:
    """The reconstruction of a refined revision, as the store records it: the algorithm the revision
    names (``localize --reco`` for an imported scan, else the scan plan's), and, for an imported scan,
    that it was imported and from which format, e.g. ``splinempe (imported legacy-npz scan)``."""
    scan = next((s for s in snap.scans if scan_ref.startswith(f"scan:{s.id}:")), None)
    algo = rev.details.get("reco_algo") or (scan.plan.get("reco_algo") if scan is not None else None)
    if scan is not None and "imported" in scan.plan:
        source = scan.plan["imported"].get("format") or "unknown format"
        return f"{algo or 'unknown'} (imported {source} scan)"
    if algo:
        return str(algo)
    return scan.plan_entry if scan is not None else "unknown"


def polar_ring_dec_deg(nside: int) -> float:
    """|Dec| of the centres of a HEALPix map's four pixels around each pole (z = 1 - 1/(3 nside^2))."""
    return math.degrees(math.asin(1.0 - 1.0 / (3.0 * nside * nside)))


def _box_holds_pole(dec: float, dec_plus: float, dec_minus: float, nsides: str) -> bool:
    """A region's box (taken over the finest pixels' centres) holds a pole when it reaches a pixel
    touching it: the finest nside's ring around the pole."""
    finest = max((int(n) for n in str(nsides).split(",") if n.strip().isdigit()), default=0)
    if finest <= 0:
        return dec + dec_plus >= 90.0 or dec - dec_minus <= -90.0
    ring = polar_ring_dec_deg(finest) - 1e-9
    return dec + dec_plus >= ring or dec - dec_minus <= -ring


def circle_ra_half_width(dec_deg: float, radius_deg: float) -> float | None:
    """The RA half-width of a circle (deg, not times cos Dec); None when it holds a pole."""
    if abs(dec_deg) + radius_deg >= 90.0:
        return None
    ratio = math.sin(math.radians(radius_deg)) / math.cos(math.radians(dec_deg))
    return math.degrees(math.asin(min(1.0, ratio)))


def revision_row(settings: Settings, snap: AlertSnapshot, rev: RevisionRecord) -> JSONObject:
    """The catalogue row of one revision of an alert."""
    loc = snap.localization_of(rev.revision)
    row: JSONObject = {
        "NAME": snap.label,
        "RUNID": snap.run_id,
        "EVENTID": snap.event_id,
        "START": snap.event_time.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "EVENTMJD": modified_julian_date(snap.event_time),
        "I3TYPE": snap.stream.lower(),
        "ENERGY": rev.energy_tev,
        "FAR": rev.far_per_year,
        "SIGNAL": rev.signalness,
        "REVISION": rev.revision,
        "RETRACTED": snap.retracted,
        "DOI": alert_doi(settings, snap) if snap.public else "",
    }
    if loc is not None:
        row.update(_skymap_columns(settings, snap, rev, loc))
    else:
        row.update(_circle_columns(rev))
    return row


def _skymap_columns(
    settings: Settings, snap: AlertSnapshot, rev: RevisionRecord, loc: LocalizationRecord
) -> JSONObject:
    """The position columns of a revision with a skymap: its 90% box, areas and files."""
    flat_name = str(loc["flat_fits_path"]).rsplit("/", 1)[-1]
    pole = _box_holds_pole(loc["dec_deg"], loc["dec_plus_90_deg"], loc["dec_minus_90_deg"], loc["nsides"])
    return {
        "RA": float(loc["ra_deg"]) % 360.0,
        "DEC": _f(loc["dec_deg"]),
        "RA_ERR_PLUS": FULL_RA_DEG if pole else _f(loc["ra_plus_90_deg"]),
        "RA_ERR_MINUS": FULL_RA_DEG if pole else _f(loc["ra_minus_90_deg"]),
        "DEC_ERR_PLUS": _f(loc["dec_plus_90_deg"]),
        "DEC_ERR_MINUS": _f(loc["dec_minus_90_deg"]),
        "AREA_50": _f(loc["area_50_deg2"]),
        "AREA_90": _f(loc["area_90_deg2"]),
        "RA_FULL_RANGE": pole,
        "THRESHOLDS": loc["thresholds"],
        "RECO_ALGO": reco_label(snap, rev, loc["scan_ref"]),
        "SKYMAP_FITS_URL": loc["healpix_url"],
        "SKYMAP_FLAT_URL": loc["healpix_url"].rsplit("/", 1)[0] + "/" + flat_name,
        "SKYMAP_PNG_URL": loc["png_url"],
        "MOC_50_URL": record_file_url(settings, snap, region_path(loc["id"], 50)),
        "MOC_90_URL": record_file_url(settings, snap, region_path(loc["id"], 90)),
    }


def _circle_columns(rev: RevisionRecord) -> JSONObject:
    """The position columns of a revision without a skymap: the online fit's error circles."""
    r90, r50 = rev.err90_deg, rev.err50_deg
    half_width = circle_ra_half_width(rev.dec_deg, r90) if r90 is not None else None
    pole = r90 is not None and half_width is None
    ra_err = FULL_RA_DEG if pole else half_width
    return {
        "RA": float(rev.ra_deg) % 360.0,
        "DEC": float(rev.dec_deg),
        "RA_ERR_PLUS": ra_err,
        "RA_ERR_MINUS": ra_err,
        "DEC_ERR_PLUS": _f(r90),
        "DEC_ERR_MINUS": _f(r90),
        "AREA_50": math.pi * r50**2 if r50 is not None else None,
        "AREA_90": math.pi * r90**2 if r90 is not None else None,
        "RA_FULL_RANGE": pole,
        "THRESHOLDS": "circle",
        "RECO_ALGO": "online splinempe",
        "SKYMAP_FITS_URL": "",
        "SKYMAP_FLAT_URL": "",
        "SKYMAP_PNG_URL": "",
        "MOC_50_URL": "",
        "MOC_90_URL": "",
    }


def snapshots(session: Session, *, light: bool = True) -> list[AlertSnapshot]:
    """Every public alert that has a revision, in event-time order (without their bytes unless
    ``light`` is False)."""
    ids = session.execute(select(Alert.id).order_by(Alert.event_time, Alert.id)).scalars()
    out = []
    for alert_id in ids:
        snap = take_snapshot(session, alert_id, light=light)
        if snap.public and snap.revisions:
            out.append(snap)
    return out


def catalogue_rows(
    settings: Settings, snaps: list[AlertSnapshot], all_revisions: bool = False
) -> list[JSONObject]:
    rows = []
    for snap in snaps:
        revisions = snap.revisions if all_revisions else snap.revisions[-1:]
        rows += [revision_row(settings, snap, rev) for rev in revisions]
    return rows


def catalogue_table(rows: list[JSONObject]) -> Table:
    """The rows as an astropy Table with units and descriptions (missing values masked)."""
    import numpy as np
    from astropy.table import MaskedColumn, Table

    table = Table()
    for spec in COLUMNS:
        values = [row.get(spec.name) for row in rows]
        mask = [v is None for v in values]
        if spec.kind == "str":
            data = np.array([v if v is not None else "" for v in values], dtype=str)
            if not rows:
                data = np.array([], dtype="U1")
            table[spec.name] = data
            column = table[spec.name]
        else:
            dtype = {"int": np.int64, "float": np.float64, "bool": np.bool_}[spec.kind]
            fill = {"int": 0, "float": np.nan, "bool": False}[spec.kind]
            column = MaskedColumn(
                np.array([fill if v is None else v for v in values], dtype=dtype), name=spec.name, mask=mask
            )
            table[spec.name] = column
            column = table[spec.name]
        if spec.unit:
            column.unit = spec.unit
        column.description = spec.description
        if spec.ucd:
            column.meta["ucd"] = spec.ucd  # the VOTable FIELD's ucd
    table.meta["ID"] = "skymist_alerts"  # the VOTable TABLE ID (else derived from the name, with a warning)
    table.meta["name"] = "SkyMist alert catalogue"
    table.meta["description"] = "IceCube realtime alerts, IceCat-1 columns (one row per alert or revision)"
    return table


def export(rows: list[JSONObject], fmt: Format) -> bytes:
    """The catalogue rows in ``fmt``."""
    table = catalogue_table(rows)
    if fmt == "csv":
        out = io.StringIO()
        for spec in COLUMNS:  # CSV: IceCat-1's precision, no masked-value noise
            if spec.kind == "float":
                table[spec.name].info.format = ".2f" if spec.unit in ("deg", "deg2") else None
        table.write(out, format="ascii.csv", overwrite=True)
        return out.getvalue().encode()
    if fmt == "fits":
        from astropy.io import fits

        table.meta.clear()  # long meta keys would become HIERARCH cards; the header says it below
        hdu = fits.table_to_hdu(table)
        hdu.header["EXTNAME"] = "ALERTS"
        hdu.header["COMMENT"] = "SkyMist alert catalogue: IceCube realtime alerts with IceCat-1's columns"
        for i, spec in enumerate(COLUMNS, start=1):
            hdu.header.comments[f"TTYPE{i}"] = spec.description[:47]
            hdu.header[f"TCOMM{i}"] = spec.description
            if spec.ucd:  # the UCD keyword of the FITS column convention TOPCAT and STILTS read
                hdu.header[f"TUCD{i}"] = spec.ucd
        buffer = io.BytesIO()
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
        return buffer.getvalue()
    if fmt == "votable":
        from skymist.archive.votable import table_votable

        return table_votable(table, resource_name="skymist_catalogue")
    if fmt == "parquet":
        import os
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "catalogue.parquet")
            table.write(path, format="parquet")
            with open(path, "rb") as handle:
                return handle.read()
    raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
