"""``pandel_mpe`` on the two shared real Bronze events: full default scans, regions, offsets, pictures.

For each event: a full scan (nsides 8:0, 64:12, 512:24; in-process workers) with ``pandel_mpe``, or the
result file given with --results; the best fit; the 50% / 90% regions and their areas with the
thresholds calibrated on simulation (``skyscan/data/thresholds_pandel_mpe.json``), and for reference
with IceCube's 22.2 / 64.2 and Wilks' 1.39 / 4.61; the offsets of the best fit from the online
SplineMPE direction (Rev 0) and from the published refined position; 2 Delta llh at the published
position and at the online direction (each fitted exactly, not read off a pixel), so whether each lies
inside the 90% region; a skymap picture per event (skymist's renderer, online direction marked).

    python benchmarks/pandel_mpe_real_events.py --out-dir /tmp/pandel [--results-dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.real_events import EVENTS, real_dir, scan_or_reuse  # noqa: E402
from skybase.event import RealtimeEvent  # noqa: E402
from skybase.sky import angular_distance_deg, detector_to_j2000  # noqa: E402
from skymist.skymap.analysis import analyze_scan  # noqa: E402
from skymist.skymap.model import ThresholdSet, threshold_set  # noqa: E402
from skymist.skymap.picture import ComparisonPosition, write_png  # noqa: E402
from skymist.skymap.reader import parse_skyscan_result  # noqa: E402
from skyscan.recos.pandel_mpe import PandelMPEReco  # noqa: E402
from skyscan.thresholds import load_threshold_set  # noqa: E402


def two_delta_llh_at(reco: PandelMPEReco, ra: float, dec: float, best_llh: float) -> float:
    fit, _ = reco.fit_direction(reco.direction(math.radians(ra), math.radians(dec)))
    return 2.0 * (fit.llh - best_llh)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, help="reuse <event>.pandel.json results found here")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    ours = load_threshold_set()
    sets: dict[str, ThresholdSet] = {
        "pandel_mpe_simulation": ThresholdSet(
            ours.name, "two_delta_llh", ours.level_50, ours.level_90, ours.description
        ),
        "icecube_calibrated": threshold_set("calibrated"),
        "wilks": threshold_set("wilks"),
    }
    levels = {k: [v.level_50, v.level_90] for k, v in sets.items()}
    report: dict[str, Any] = {"thresholds": levels, "events": {}}
    for name, (label, ref_ra, ref_dec) in EVENTS.items():
        message = json.loads((real_dir() / name).read_text())
        stem = name.removesuffix(".json")
        result, seconds = scan_or_reuse(
            message,
            f"real-{stem}",
            "pandel_mpe",
            cached=args.results_dir / f"{stem}.pandel.json" if args.results_dir else None,
            save_to=args.out_dir / f"{stem}.pandel.json",
            workers=args.workers,
        )
        event = RealtimeEvent.read(message)
        online = event.require_online()
        on_ra, on_dec = detector_to_j2000(online.zen, online.azi, event.event_time)
        reco = PandelMPEReco.from_setup(PandelMPEReco.prepare(event, {}))
        scan = parse_skyscan_result(result, source=name)
        pixels = {k: len(v["data"]) for k, v in result.items()}
        entry: dict[str, Any] = {"scan_seconds": seconds, "pixels": pixels}
        for key, tset in sets.items():
            analysis = analyze_scan(scan, tset, with_contours=False)
            best = analysis.best_fit
            if key == "pandel_mpe_simulation":
                entry["best_fit"] = {
                    "ra_deg": round(best.ra_deg, 3),
                    "dec_deg": round(best.dec_deg, 3),
                    "nside": best.nside,
                    "llh": round(best.llh, 3),
                }
                from_online = angular_distance_deg(best.ra_deg, best.dec_deg, on_ra, on_dec)
                entry["offset_from_online_deg"] = round(from_online, 3)
                entry[f"offset_from_{label.replace(' ', '_')}_deg"] = round(
                    angular_distance_deg(best.ra_deg, best.dec_deg, ref_ra, ref_dec), 3
                )
                entry["online_ra_dec"] = [round(on_ra, 3), round(on_dec, 3)]
                at_published = two_delta_llh_at(reco, ref_ra, ref_dec, best.llh)
                entry["two_delta_llh_at_published"] = round(at_published, 2)
                entry["two_delta_llh_at_online"] = round(two_delta_llh_at(reco, on_ra, on_dec, best.llh), 2)
                picture = args.out_dir / f"{stem}.pandel_mpe.png"
                marker = ComparisonPosition(on_ra, on_dec, "online (Rev 0)")
                write_png(analyze_scan(scan, tset), picture, marker)
                entry["png"] = str(picture)
            entry[f"area_90_deg2_{key}"] = round(analysis.area_90_deg2, 2)
            entry[f"area_50_deg2_{key}"] = round(analysis.area_50_deg2, 2)
            entry[f"published_inside_90_{key}"] = entry["two_delta_llh_at_published"] <= tset.level_90
        report["events"][name] = entry
    print(json.dumps(report, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
