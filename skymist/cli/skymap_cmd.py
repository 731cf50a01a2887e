"""``skymist skymap``: analyse a scan result, write its products, convert legacy files.

::

    skymist skymap analyze PATH [--thresholds wilks|calibrated|pandel_mpe|hpd] [--json] [--fits DIR]
                                [--png FILE] [--rev0 RA,DEC] [--event EVENT.json]
                                [--convention legacy|current]
    skymist skymap convert IN.npz OUT.json [--event EVENT.json]

Heavy libraries (numpy, healpy, astropy, matplotlib) are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skymist.skymap.analysis import SkymapAnalysis
    from skymist.skymap.model import ScanMetadata

__all__ = ["handle_analyze", "handle_convert", "parse_radec", "register"]

_THRESHOLD_NAMES = ("wilks", "calibrated", "pandel_mpe", "hpd")
#: without --thresholds and without a set declared by the result: the daemon's default (skymap_thresholds)
_DEFAULT_THRESHOLDS = "calibrated"


def parse_radec(text: str) -> tuple[float, float]:
    """``"RA,DEC"`` in degrees, e.g. ``48.85,-3.52``."""
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"--rev0 = {text!r}: expected RA,DEC in degrees, e.g. 48.85,-3.52")
    try:
        ra, dec = float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rev0 = {text!r}: RA and DEC must be numbers") from None
    if not (math.isfinite(ra) and 0.0 <= ra <= 360.0):
        raise argparse.ArgumentTypeError(f"--rev0 RA = {parts[0]!r}: expected 0 <= RA <= 360 deg")
    if not (math.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise argparse.ArgumentTypeError(f"--rev0 DEC = {parts[1]!r}: expected -90 <= DEC <= 90 deg")
    return ra, dec


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``skymap`` command group."""
    group = subparsers.add_parser(
        "skymap",
        help="analyse scan results and write skymap products",
        description="Skymap analysis: best fit, 50%%/90%% regions, error box, area, FITS maps and a picture.",
    )
    sub = group.add_subparsers(dest="skymap_command", metavar="SUBCOMMAND", required=True)

    analyze = sub.add_parser(
        "analyze",
        help="analyse a scan result (skyreader JSON v0/v1, NPZ or legacy NPZ)",
        description=(
            "Read a scan result, compute the best fit, the 50%% and 90%% regions of the chosen threshold "
            "set, their error boxes (RA not multiplied by cos Dec) and areas; optionally write the FITS "
            "maps and the PNG."
        ),
    )
    analyze.add_argument("path", metavar="PATH", type=Path, help="scan result file (.json or .npz)")
    analyze.add_argument(
        "--thresholds",
        choices=_THRESHOLD_NAMES,
        default=None,
        help="wilks (2DLLH 1.39/4.61), calibrated (22.2/64.2, IceCat-1), pandel_mpe (skyscan's, calibrated "
        "on simulation) or hpd (credible regions); default: the set the result's reco declares (metadata "
        "region_method, as the daemon applies it), else calibrated",
    )
    analyze.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    analyze.add_argument(
        "--fits", metavar="DIR", type=Path, help="write the flat and multi-order FITS maps here"
    )
    analyze.add_argument(
        "--png",
        metavar="FILE",
        type=Path,
        help="write the picture to this PNG file (150 dpi) and as PDF beside it (same name, .pdf)",
    )
    analyze.add_argument(
        "--rev0",
        metavar="RA,DEC",
        type=parse_radec,
        help="comparison position (deg), e.g. the Rev 0 direction",
    )
    analyze.add_argument(
        "--event", metavar="EVENT.json", type=Path, help="realtime event message: run/event ids, MJD, type"
    )
    analyze.add_argument(
        "--convention",
        choices=("legacy", "current"),
        help="pixel convention of the file (default: by format; legacy NPZ = legacy, otherwise current)",
    )
    analyze.set_defaults(handler=handle_analyze)

    convert = sub.add_parser(
        "convert",
        help="convert a legacy NPZ (or any scan result) to skyreader v1 JSON with metadata",
        description=(
            "Write a scan result as skyreader v1 JSON in the current pixel convention "
            "(legacy results are re-indexed); metadata from --event, else from the file name."
        ),
    )
    convert.add_argument("input", metavar="IN", type=Path, help="scan result (.npz or .json)")
    convert.add_argument("output", metavar="OUT.json", type=Path, help="skyreader v1 JSON to write")
    convert.add_argument(
        "--event", metavar="EVENT.json", type=Path, help="realtime event message: run/event ids, MJD, type"
    )
    convert.set_defaults(handler=handle_convert)


def _fail(message: str, code: int = 2) -> int:
    print(f"skymist skymap: error: {message}", file=sys.stderr)
    return code


def _event_metadata(path: Path | None) -> ScanMetadata | None:
    from skymist.skymap.convert import metadata_from_event_message
    from skymist.skymap.errors import SkymapInputError

    if path is None:
        return None
    try:
        doc = json.loads(path.read_bytes())
    except OSError as exc:
        raise SkymapInputError(
            str(path), "--event", str(path), f"cannot read: {exc.strerror or exc}"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SkymapInputError(str(path), "--event", str(path), f"not JSON ({exc})") from None
    return metadata_from_event_message(doc, source=str(path))


def handle_analyze(args: argparse.Namespace) -> int:
    from skymist.skymap.analysis import analyze_scan
    from skymist.skymap.errors import SkymapInputError
    from skymist.skymap.model import PixelConvention
    from skymist.skymap.picture import ComparisonPosition, write_png_and_pdf
    from skymist.skymap.products import write_fits_products
    from skymist.skymap.reader import read_scan

    try:
        metadata = _event_metadata(args.event)
        convention = PixelConvention(args.convention) if args.convention else None
        scan = read_scan(args.path, convention=convention)
        thresholds, chosen_by = _thresholds(args.thresholds, scan.metadata.region_method)
        analysis = analyze_scan(scan, thresholds, metadata=metadata)
        comparison = ComparisonPosition(args.rev0[0], args.rev0[1]) if args.rev0 else None
        files: dict[str, Any] = {}
        if args.fits is not None:
            flat, moc = write_fits_products(analysis, args.fits)
            files["flat_fits"] = flat.to_dict()
            files["multiorder_fits"] = moc.to_dict()
        if args.png is not None:
            png_file, pdf_file = write_png_and_pdf(analysis, args.png, comparison)
            files["png"], files["pdf"] = png_file.to_dict(), pdf_file.to_dict()
    except SkymapInputError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}", 1)

    if args.json:
        doc = analysis.to_dict(with_contours=True)
        doc["thresholds_chosen_by"] = chosen_by
        if comparison is not None:
            doc["comparison"] = {
                "label": comparison.label,
                "ra_deg": comparison.ra_deg,
                "dec_deg": comparison.dec_deg,
                "separation_deg": _separation_deg(analysis, comparison.ra_deg, comparison.dec_deg),
            }
        doc["files"] = files
        print(json.dumps(doc, allow_nan=False))
    else:
        print(_table(analysis, comparison, files, chosen_by))
    return 0


def _thresholds(given: str | None, declared: str | None) -> tuple[str, str]:
    """The threshold set to apply and why: --thresholds, else the result's declared ``region_method`` (as
    the daemon applies it), else the daemon's default."""
    if given is not None:
        return given, "--thresholds"
    if declared:
        return declared, "the result's metadata (region_method)"
    return _DEFAULT_THRESHOLDS, "default (the result declares no region_method)"


def handle_convert(args: argparse.Namespace) -> int:
    from skymist.skymap.convert import convert_file
    from skymist.skymap.errors import SkymapInputError

    try:
        written = convert_file(args.input, args.output, _event_metadata(args.event))
    except SkymapInputError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}", 1)
    print(f"wrote {written.path} ({written.size_bytes} bytes, sha256 {written.sha256})")
    return 0


def _separation_deg(analysis: SkymapAnalysis, ra_deg: float, dec_deg: float) -> float:
    ra1, dec1 = math.radians(analysis.ra_deg), math.radians(analysis.dec_deg)
    ra2, dec2 = math.radians(ra_deg), math.radians(dec_deg)
    hav = math.sin((dec2 - dec1) / 2) ** 2 + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(hav))))


def _table(analysis: SkymapAnalysis, comparison: Any, files: dict[str, Any], chosen_by: str) -> str:
    meta = analysis.metadata
    tset = analysis.thresholds
    lines = [
        f"source           {analysis.source}",
        f"format           {analysis.source_format}  (nsides {', '.join(map(str, analysis.nsides))}; "
        f"{analysis.n_scanned_pixels} pixels)",
        f"pixel convention {analysis.pixel_convention}: {analysis.pixel_convention.formula}  "
        f"({analysis.convention_reason})",
        f"event            run {meta.run_id}  event {meta.event_id}  type {meta.event_type}  mjd {meta.mjd}",
        f"thresholds       {tset.name}: {tset.description}  (chosen by {chosen_by})",
        f"best fit         RA {analysis.ra_deg:8.3f} deg   Dec {analysis.dec_deg:+8.3f} deg   "
        f"(nside {analysis.best_fit.nside}, pixel {analysis.best_fit.pixel}, "
        f"llh {analysis.best_fit.llh:.3f})",
        "",
        "region  2DLLH<=   area deg2   probability   RA +      RA -      Dec +     Dec -",
    ]
    for region in (analysis.region_50, analysis.region_90):
        b = region.box
        lines.append(
            f"{round(region.containment * 100):>4d}%  {region.two_delta_llh_level:8.3f}  "
            f"{region.area_deg2:10.3f}   {region.probability:11.6f}   {b.ra_plus_deg:7.3f}   "
            f"{b.ra_minus_deg:7.3f}   {b.dec_plus_deg:7.3f}   {b.dec_minus_deg:7.3f}"
        )
    if comparison is not None:
        sep = _separation_deg(analysis, comparison.ra_deg, comparison.dec_deg)
        lines += [
            "",
            f"{comparison.label:<16} RA {comparison.ra_deg:8.3f} deg   Dec {comparison.dec_deg:+8.3f} deg   "
            f"({sep:.3f} deg from the best fit)",
        ]
    if files:
        lines.append("")
        for name, info in files.items():
            lines.append(f"{name:<16} {info['path']}  sha256 {info['sha256']}")
    return "\n".join(lines)
