"""The skymap step of an alert: a final scan result becomes maps and a localization row.

:func:`parse_result` reads the result (the verbatim ``skyscan_result`` or SkyDriver's whole result
body); :func:`analyse` makes the regions with the threshold set the reco declares (or the
configured one) and the event's metadata; :func:`staged_skymap` (:mod:`~skymist.skymap.alert_files`)
writes the files; :func:`localization_row` is the row that records them. Publishing a revision
from it is the alert lifecycle's job (:mod:`skymist.alerts.refined`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from skybase.times import modified_julian_date
from skymist.skymap.alert_files import FileKind, SkymapFile, SkymapFiles
from skymist.skymap.analysis import SkymapAnalysis, analyze_scan
from skymist.skymap.errors import LocalizationError
from skymist.skymap.model import ScanMetadata, ScanResult
from skymist.skymap.position import SkyPosition
from skymist.skymap.reader import parse_skyscan_result
from skymist.store.product_models import Localization
from skymist.store.types import utcnow


def parse_result(result_bytes: bytes, scan_ref: str) -> ScanResult:
    """The scan result in ``result_bytes``: skyreader JSON, bare or inside SkyDriver's result body."""
    source = f"scan {scan_ref}"
    try:
        document: Any = json.loads(result_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LocalizationError(f"{source}: result is not JSON ({exc})") from None
    if isinstance(document, dict) and "skyscan_result" in document and document.get("is_final") is False:
        raise LocalizationError(f"{source}: is_final = False: a partial result cannot be localized")
    return parse_skyscan_result(document, source=source)


def check_same_event(scan: ScanResult, run_id: int, event_id: int, label: str, scan_ref: str) -> None:
    """The result is about this alert's event (where it says)."""
    for field, ours, theirs in (
        ("run_id", run_id, scan.metadata.run_id),
        ("event_id", event_id, scan.metadata.event_id),
    ):
        if theirs is not None and theirs != ours:
            raise LocalizationError(
                f"scan {scan_ref}: metadata.{field} = {theirs!r}, but alert {label} has {field} {ours}"
            )


def analyse(
    scan: ScanResult,
    thresholds: str,
    *,
    run_id: int,
    event_id: int,
    event_time: dt.datetime,
    label: str,
    reco_algo: str | None,
    reco_kind: str | None,
    region_method: str | None,
) -> SkymapAnalysis:
    """The analysis of ``scan`` for the alert, its metadata (and picture title ``label``) the alert's."""
    metadata = ScanMetadata(
        run_id=run_id,
        event_id=event_id,
        mjd=modified_julian_date(event_time),
        origin="alert",
        reco_algo=reco_algo,
        reco_kind=reco_kind,
        region_method=region_method,
        label=label,
    )
    return analyze_scan(scan, thresholds, metadata=metadata)


def files_of(row: Localization) -> SkymapFiles:
    def one(kind: FileKind, path: str, sha256: str) -> SkymapFile:
        url = row.healpix_url if kind == "multiorder_fits" else row.png_url
        if kind in ("flat_fits", "pdf"):  # in the same public folder
            url = url.rsplit("/", 1)[0] + "/" + Path(path).name
        return SkymapFile(kind, Path(path), sha256, url)

    pdf = None
    if row.pdf_path is not None and row.pdf_sha256 is not None:
        pdf = one("pdf", row.pdf_path, row.pdf_sha256)
    return SkymapFiles(
        one("flat_fits", row.flat_fits_path, row.flat_fits_sha256),
        one("multiorder_fits", row.multiorder_fits_path, row.multiorder_fits_sha256),
        one("png", row.png_path, row.png_sha256),
        pdf,
    )


def localization_row(
    alert_id: int,
    analysis: SkymapAnalysis,
    folder: str,
    files: SkymapFiles,
    scan_ref: str,
    revision: int | None,
) -> Localization:
    best = analysis.best_fit
    return Localization(
        alert_id=alert_id,
        scan_ref=scan_ref,
        revision=revision,
        thresholds=analysis.thresholds.name,
        level_50=analysis.thresholds.level_50,
        level_90=analysis.thresholds.level_90,
        best_fit_nside=best.nside,
        best_fit_llh=best.llh,
        **SkyPosition.from_analysis(analysis).as_columns(),
        nsides=",".join(str(n) for n in analysis.nsides),
        n_scanned_pixels=analysis.n_scanned_pixels,
        pixel_convention=str(analysis.pixel_convention),
        folder=folder,
        flat_fits_path=str(files.flat_fits.path),
        flat_fits_sha256=files.flat_fits.sha256,
        multiorder_fits_path=str(files.multiorder_fits.path),
        multiorder_fits_sha256=files.multiorder_fits.sha256,
        png_path=str(files.png.path),
        png_sha256=files.png.sha256,
        pdf_path=None if files.pdf is None else str(files.pdf.path),
        pdf_sha256=None if files.pdf is None else files.pdf.sha256,
        healpix_url=files.multiorder_fits.url,
        png_url=files.png.url,
        created_at=utcnow(),
    )
