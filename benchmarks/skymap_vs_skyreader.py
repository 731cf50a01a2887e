"""SkyMist's skymap analysis against IceCube's skyreader on the same real scan.

Usage: python benchmarks/skymap_vs_skyreader.py [--json] [--repeats N] [--scan FILE.npz] [--event EVENT.json]

* skyreader runs in its own virtual environment (``~/.cache/skymist-bench/skyreader-venv``,
  created and filled with ``icecube-skyreader`` and ``pandas<3`` on first use, then reused), in a
  subprocess running a small script written here: read the result, build its map, the calibrated
  (22.2 / 64.2) contours, their areas and bounding boxes, and write its flat and multi-order FITS
  files; skyreader's own plotting is not timed.
* SkyMist runs in this process: read, analyse (regions, boxes, areas, contours), write the flat and
  multi-order FITS files.
* Both read the same skyreader v1 JSON, converted from the legacy NPZ by ``skymist.skymap.convert``
  (the legacy pixel convention is resolved there, so skyreader sees the true sky).

Prints one JSON line: both sets of numbers side by side, IceCat-1's published values, the median of
``--repeats`` timings on each side and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_SCAN = SHARED / "data/real/run00136662-evt000035405932-BRONZE-8_64_512.npz"
DEFAULT_EVENT = SHARED / "data/real/run00136662-evt000035405932-BRONZE.json"
DEFAULT_VENV = Path.home() / ".cache/skymist-bench/skyreader-venv"
ICECAT1 = {
    "ra_deg": 47.20,
    "dec_deg": -3.28,
    "ra_plus_90_deg": 4.75,
    "ra_minus_90_deg": 2.46,
    "dec_plus_90_deg": 0.82,
    "dec_minus_90_deg": 0.82,
    "area_90_deg2": 9.34,
}

# Runs inside skyreader's environment. argv: result.json out_dir repeats
SKYREADER_SCRIPT = r"""
import json, statistics, sys, time, warnings
from pathlib import Path
warnings.filterwarnings("ignore")
import healpy
import meander
import numpy as np
from skyreader import SkyScanResult
from skyreader.plot.plotting_tools import format_fits_header
from skyreader.utils.areas import get_contour_areas
from skyreader.utils.handle_map_data import (
    extract_map, get_contour_levels, prepare_flattened_map, prepare_multiorder_map,
)

def extent(ra0_deg, dec0_deg, contours):
    # skyreader's rectangle: RA offsets folded around the best fit, Dec from the colatitudes
    theta, phi = np.concatenate(contours).T
    offsets = (np.degrees(phi) - ra0_deg + 180.0) % 360.0 - 180.0
    dec = 90.0 - np.degrees(theta)
    return (float(offsets.max()), float(-offsets.min()),
            float(dec.max() - dec0_deg), float(dec0_deg - dec.min()))

def analyse(path, out_dir):
    result = SkyScanResult.read_json(path)
    meta = result.get_event_metadata()
    grid_value, grid_ra, grid_dec, eq_map, uniq = extract_map(result, True, None)
    ra0, dec0 = float(np.degrees(grid_ra[0])), float(np.degrees(grid_dec[0]))
    levels, _labels, _colors = get_contour_levels(eq_map, True, True)  # calibrated: 22.2 / 64.2
    values = grid_value.copy()
    values[np.isnan(values)] = np.nanmax(eq_map)
    contours = meander.spherical_contours(np.array([np.pi / 2 - grid_dec, grid_ra]).T, values, levels)
    areas = get_contour_areas(contours, grid_ra[0])
    for level in contours:
        for c in level:
            c.T[1] = np.where(c.T[1] < 0.0, c.T[1] + 2.0 * np.pi, c.T[1])
    boxes = [extent(ra0, dec0, level) for level in contours[:2]]
    uncertainties = [[(-b[1], b[0]), (-b[3], b[2])] for b in boxes]
    header = format_fits_header((meta.run_id, meta.event_id, meta.event_type), meta.mjd, ra0, dec0,
                                uncertainties, areas, True)
    flat, names, units = prepare_flattened_map(eq_map, True)
    healpy.write_map(str(out_dir / "skyreader.flat.fits.gz"), flat, coord="C", column_names=names,
                     column_units=units, extra_header=header, overwrite=True)
    moc, names = prepare_multiorder_map(grid_value, uniq, True, names)
    moc.write_map(str(out_dir / "skyreader.multiorder.fits.gz"), column_names=names, extra_header=header,
                  overwrite=True)
    return {"ra_deg": ra0, "dec_deg": dec0,
            "area_50_deg2": float(areas[0]), "area_90_deg2": float(areas[1]),
            "box_50_deg": boxes[0], "box_90_deg": boxes[1]}

path, out_dir, repeats = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
times = []
numbers = None
for _ in range(repeats):
    t0 = time.perf_counter()
    numbers = analyse(path, out_dir)
    times.append(time.perf_counter() - t0)
import skyreader, importlib.metadata as md
print(json.dumps({"numbers": numbers, "times_s": times, "median_s": statistics.median(times),
                  "version": md.version("icecube-skyreader")}))
"""


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import skyreader, meander, mhealpy"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "icecube-skyreader", "pandas<3"],
        check=True,
        stdout=sys.stderr,
    )
    subprocess.run(probe, check=True)
    return python


def skymist_numbers(analysis: Any) -> dict[str, Any]:
    def box(region: Any) -> list[float]:
        b = region.box
        return [b.ra_plus_deg, b.ra_minus_deg, b.dec_plus_deg, b.dec_minus_deg]

    return {
        "ra_deg": analysis.ra_deg,
        "dec_deg": analysis.dec_deg,
        "area_50_deg2": analysis.area_50_deg2,
        "area_90_deg2": analysis.area_90_deg2,
        "box_50_deg": box(analysis.region_50),
        "box_90_deg": box(analysis.region_90),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line (the default output anyway)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats on each side (median reported)")
    parser.add_argument("--scan", type=Path, default=DEFAULT_SCAN)
    parser.add_argument("--event", type=Path, default=DEFAULT_EVENT)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args()
    repeats = max(1, args.repeats)

    from skymist.skymap.analysis import analyze_path, analyze_scan
    from skymist.skymap.convert import convert_file, metadata_from_event_message
    from skymist.skymap.products import write_fits_products
    from skymist.skymap.reader import read_scan

    python = ensure_venv(args.venv)
    metadata = metadata_from_event_message(json.loads(args.event.read_bytes()), str(args.event))

    with tempfile.TemporaryDirectory(prefix="skymist-bench-") as tmp:
        work = Path(tmp)
        result_json = work / "result.json"
        convert_file(args.scan, result_json, metadata)
        script = work / "skyreader_side.py"
        script.write_text(SKYREADER_SCRIPT)
        sky_out = work / "skyreader"
        sky_out.mkdir()
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run(
            [str(python), str(script), str(result_json), str(sky_out), str(repeats)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            return 1
        skyreader = json.loads(proc.stdout.strip().splitlines()[-1])

        mist_out = work / "skymist"

        def one_run() -> Any:
            analysis = analyze_scan(read_scan(result_json), "calibrated")
            write_fits_products(analysis, mist_out)
            return analysis

        one_run()  # warm-up (imports, first-touch allocations), as skyreader's imports are outside its timing
        times = []
        analysis = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            analysis = one_run()
            times.append(time.perf_counter() - t0)
        assert analysis is not None
        from_npz = analyze_path(args.scan, "calibrated", metadata=metadata)

    mist = skymist_numbers(analysis)
    sky = skyreader["numbers"]
    mist_median = statistics.median(times)
    ratio = skyreader["median_s"] / mist_median
    diff = {
        "ra_deg": mist["ra_deg"] - sky["ra_deg"],
        "dec_deg": mist["dec_deg"] - sky["dec_deg"],
        "area_50_deg2": mist["area_50_deg2"] - sky["area_50_deg2"],
        "area_90_deg2": mist["area_90_deg2"] - sky["area_90_deg2"],
        "box_50_deg": [a - b for a, b in zip(mist["box_50_deg"], sky["box_50_deg"], strict=True)],
        "box_90_deg": [a - b for a, b in zip(mist["box_90_deg"], sky["box_90_deg"], strict=True)],
    }
    out = {
        "benchmark": "skymap_vs_skyreader",
        "scan": args.scan.name,
        "thresholds": "calibrated (2DLLH 22.2 / 64.2)",
        "box_order": "[ra_plus, ra_minus, dec_plus, dec_minus] deg",
        "icecat1": ICECAT1,
        "skymist": {**mist, "median_s": mist_median, "times_s": times},
        "skymist_from_legacy_npz": skymist_numbers(from_npz),
        "skyreader": {**sky, "median_s": skyreader["median_s"], "times_s": skyreader["times_s"]},
        "skyreader_version": skyreader["version"],
        "difference_skymist_minus_skyreader": diff,
        "speedup_skyreader_over_skymist": ratio,
        "repeats": repeats,
        "work": "read JSON + map + 50/90% regions + boxes + areas (+ contours) + flat and multi-order FITS",
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
