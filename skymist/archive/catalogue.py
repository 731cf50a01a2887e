"""The alert catalogue: IceCat-1's columns plus areas, thresholds, reconstruction, revision,
retraction, DOI and skymap URLs; one row per alert (its latest revision) or per revision.

Positions and errors are rounded to 0.01 deg as IceCat-1 publishes them; a refined revision's
errors are its 90% box (RA not multiplied by cos Dec), a prompt revision's the 90% circle
(RA extent r / cos Dec). Written by astropy tables, with units and descriptions in the FITS and
VOTable headers: CSV, FITS, VOTable or Parquet.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from skybase.times import modified_julian_date
from skymist.archive.datacite_meta import alert_doi
from skymist.archive.snapshot import AlertSnapshot, RevisionRecord, take_snapshot
from skymist.config import Settings
from skymist.store.models import Alert

Format = Literal["csv", "fits", "votable", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "fits", "votable", "parquet")
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


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("NAME", "str", None, "Public name of the alert (IceCube-YYMMDDA)"),
    ColumnSpec("RUNID", "int", None, "IceCube DAQ run id"),
    ColumnSpec("EVENTID", "int", None, "IceCube DAQ event id (unique with RUNID)"),
    ColumnSpec("START", "str", None, "Date and time of the event (UTC)"),
    ColumnSpec("EVENTMJD", "float", "d", "Modified Julian date of the event (UTC)"),
    ColumnSpec("I3TYPE", "str", None, "Alert stream (gold, bronze, cascade)"),
    ColumnSpec("RA", "float", "deg", "Right ascension of the best fit (J2000)"),
    ColumnSpec("RA_ERR_PLUS", "float", "deg", "90% upper extent in RA (not times cos Dec)"),
    ColumnSpec("RA_ERR_MINUS", "float", "deg", "90% lower extent in RA (not times cos Dec)"),
    ColumnSpec("DEC", "float", "deg", "Declination of the best fit (J2000)"),
    ColumnSpec("DEC_ERR_PLUS", "float", "deg", "90% upper extent in Dec"),
    ColumnSpec("DEC_ERR_MINUS", "float", "deg", "90% lower extent in Dec"),
    ColumnSpec("ENERGY", "float", "TeV", "Most probable neutrino energy"),
    ColumnSpec("FAR", "float", "yr-1", "False alarm rate"),
    ColumnSpec("SIGNAL", "float", None, "Signalness: probability of astrophysical origin"),
    ColumnSpec("AREA_50", "float", "deg2", "Area of the 50% region"),
    ColumnSpec("AREA_90", "float", "deg2", "Area of the 90% region"),
    ColumnSpec("THRESHOLDS", "str", None, "Threshold set of the regions (wilks, calibrated, hpd, circle)"),
    ColumnSpec("RECO_ALGO", "str", None, "Reconstruction of the position"),
    ColumnSpec("REVISION", "int", None, "Alert revision of this row (0 prompt, 1 refined, ...)"),
    ColumnSpec("RETRACTED", "bool", None, "The alert was retracted"),
    ColumnSpec("DOI", "str", None, "DOI of the alert record"),
    ColumnSpec("SKYMAP_FITS_URL", "str", None, "Multi-order FITS skymap"),
    ColumnSpec("SKYMAP_FLAT_URL", "str", None, "Flat HEALPix FITS skymap (2 delta-llh)"),
    ColumnSpec("SKYMAP_PNG_URL", "str", None, "Picture of the skymap"),
)


def _r2(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _reco_algo(snap: AlertSnapshot, scan_ref: str) -> str:
    for scan in snap.scans:
        if scan_ref.startswith(f"scan:{scan.id}:"):
            if "imported" in scan.plan:
                return f"imported ({scan.plan['imported'].get('format', '?')})"
            return str(scan.plan.get("reco_algo", scan.plan_entry))
    return "unknown"


def revision_row(settings: Settings, snap: AlertSnapshot, rev: RevisionRecord) -> dict[str, Any]:
    """The catalogue row of one revision of an alert."""
    loc = snap.localization_of(rev.revision)
    row: dict[str, Any] = {
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
        flat_name = str(loc["flat_fits_path"]).rsplit("/", 1)[-1]
        row.update(
            RA=_r2(loc["ra_deg"] % 360.0),
            DEC=_r2(loc["dec_deg"]),
            RA_ERR_PLUS=_r2(loc["ra_plus_90_deg"]),
            RA_ERR_MINUS=_r2(loc["ra_minus_90_deg"]),
            DEC_ERR_PLUS=_r2(loc["dec_plus_90_deg"]),
            DEC_ERR_MINUS=_r2(loc["dec_minus_90_deg"]),
            AREA_50=_r2(loc["area_50_deg2"]),
            AREA_90=_r2(loc["area_90_deg2"]),
            THRESHOLDS=loc["thresholds"],
            RECO_ALGO=_reco_algo(snap, loc["scan_ref"]),
            SKYMAP_FITS_URL=loc["healpix_url"],
            SKYMAP_FLAT_URL=loc["healpix_url"].rsplit("/", 1)[0] + "/" + flat_name,
            SKYMAP_PNG_URL=loc["png_url"],
        )
        return row
    r90, r50 = rev.err90_deg, rev.err50_deg
    stretch = 1.0 / max(math.cos(math.radians(rev.dec_deg)), 1e-6)
    row.update(
        RA=_r2(rev.ra_deg % 360.0),
        DEC=_r2(rev.dec_deg),
        RA_ERR_PLUS=_r2(r90 * stretch) if r90 is not None else None,
        RA_ERR_MINUS=_r2(r90 * stretch) if r90 is not None else None,
        DEC_ERR_PLUS=_r2(r90),
        DEC_ERR_MINUS=_r2(r90),
        AREA_50=_r2(math.pi * r50**2) if r50 is not None else None,
        AREA_90=_r2(math.pi * r90**2) if r90 is not None else None,
        THRESHOLDS="circle",
        RECO_ALGO="online splinempe",
        SKYMAP_FITS_URL="",
        SKYMAP_FLAT_URL="",
        SKYMAP_PNG_URL="",
    )
    return row


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
) -> list[dict[str, Any]]:
    rows = []
    for snap in snaps:
        revisions = snap.revisions if all_revisions else snap.revisions[-1:]
        rows += [revision_row(settings, snap, rev) for rev in revisions]
    return rows


def catalogue_table(rows: list[dict[str, Any]]) -> Any:
    """The rows as an astropy Table with units and descriptions (missing values masked)."""
    import numpy as np
    from astropy.table import MaskedColumn, Table

    table = Table()
    for spec in COLUMNS:
        values = [row.get(spec.name) for row in rows]
        mask = [v is None for v in values]
        if spec.kind == "str":
            data: Any = np.array([v if v is not None else "" for v in values], dtype=str)
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
    table.meta["ID"] = "skymist_alerts"  # the VOTable TABLE ID (else derived from the name, with a warning)
    table.meta["name"] = "SkyMist alert catalogue"
    table.meta["description"] = "IceCube realtime alerts, IceCat-1 columns (one row per alert or revision)"
    return table


def export(rows: list[dict[str, Any]], fmt: Format) -> bytes:
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
        buffer = io.BytesIO()
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
        return buffer.getvalue()
    if fmt == "votable":
        buffer = io.BytesIO()
        table.write(buffer, format="votable")
        return buffer.getvalue()
    if fmt == "parquet":
        import os
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "catalogue.parquet")
            table.write(path, format="parquet")
            with open(path, "rb") as handle:
                return handle.read()
    raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
