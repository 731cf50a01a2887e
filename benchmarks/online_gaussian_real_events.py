"""``online_gaussian`` (calibrated on public Rev 0 / refined positions) on the two shared real events.

For each event: a full default scan (8:0, 64:12, 512:24; in-process), analysed by skymist with the
threshold set the result declares (``wilks``: the calibrated circles); the 50% / 90% areas; the published
refined position's distance from the online direction, its exact 2 Delta llh (the reco evaluated at
that position, not read off a pixel) and whether the scanned 90% region's pixel holding it is in the
region; plus the calibration's held-out coverage (``skyscan/data/online_gaussian_calibration.json``).
Prints one JSON document.

    python benchmarks/online_gaussian_real_events.py [--png-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.real_events import EVENTS, NSIDES, Quiet, real_dir  # noqa: E402
from skybase.event import RealtimeEvent  # noqa: E402
from skymist.skymap.analysis import analyze_scan  # noqa: E402
from skymist.skymap.picture import ComparisonPosition, write_png  # noqa: E402
from skymist.skymap.reader import parse_skyscan_result  # noqa: E402
from skyscan.engine import ScanRequest, run_scan  # noqa: E402
from skyscan.online_calibration import angular_distance_deg, load_calibration  # noqa: E402
from skyscan.recos import PixelSeed, get_reco  # noqa: E402
from skyscan.workers import open_pool  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--png-dir", type=Path, help="also draw each event's skymap here")
    args = parser.parse_args()
    record = load_calibration().record
    report: dict[str, Any] = {
        "calibration": {k: record[k] for k in ("name", "r50", "r90")},
        "held_out": {k: record["held_out"][k] for k in ("coverage_50", "coverage_90", "mean_area_90_deg2")},
        "events": {},
    }
    reco_cls = get_reco("online_gaussian")
    for name, (label, ra, dec) in EVENTS.items():
        message = json.loads((real_dir() / name).read_text())
        with open_pool("inprocess", workers=1) as pool:
            result = run_scan(
                ScanRequest(f"real-{name[:11]}", message, "online_gaussian", NSIDES), Quiet(), pool=pool
            )
        scan = parse_skyscan_result(result, source=name)
        analysis = analyze_scan(scan, scan.metadata.region_method or "wilks")
        setup = reco_cls.prepare(RealtimeEvent.read(message), {})
        reco = reco_cls.from_setup(setup)

        def llh(r: float, d: float, reco: Any = reco) -> float:
            return float(reco.fit(PixelSeed(nside=512, index=0, ra=math.radians(r), dec=math.radians(d))).llh)

        two_dllh = 2.0 * (llh(ra, dec) - llh(setup["ra_deg"], setup["dec_deg"]))
        moc = analysis.multiorder
        pixel = int(moc.lookup_radec(np.array([ra]), np.array([dec]))[0])
        report["events"][name] = {
            "published": {"what": label, "ra_deg": ra, "dec_deg": dec},
            "online_ra_dec": [round(setup["ra_deg"], 4), round(setup["dec_deg"], 4)],
            "gcn_rev0_err90_deg": round(setup["rev0_err90_deg"], 4),
            "r50_deg": round(setup["r50_deg"], 4),
            "r90_deg": round(setup["r90_deg"], 4),
            "published_offset_deg": round(
                angular_distance_deg(setup["ra_deg"], setup["dec_deg"], ra, dec), 4
            ),
            "two_delta_llh_at_published": round(two_dllh, 4),
            "published_inside_90_exact": two_dllh <= 4.61,
            "published_pixel_in_scanned_90_region": bool(analysis.mask_90[pixel]),
            "thresholds": analysis.thresholds.name,
            "area_50_deg2": round(analysis.area_50_deg2, 3),
            "area_90_deg2": round(analysis.area_90_deg2, 3),
            "best_fit": [round(analysis.best_fit.ra_deg, 4), round(analysis.best_fit.dec_deg, 4)],
            "pixels": sum(len(v["data"]) for v in result.values()),
        }
        if args.png_dir:
            args.png_dir.mkdir(parents=True, exist_ok=True)
            picture = args.png_dir / f"{name[:11]}.online_gaussian.png"
            write_png(analyze_scan(scan, analysis.thresholds), picture, ComparisonPosition(ra, dec, label))
            report["events"][name]["png"] = str(picture)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
