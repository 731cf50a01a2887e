"""Every reco on the two shared real events, against the published positions and IceCube's SplineMPE (JSON).

    python benchmarks/reco_comparison.py --out-dir DIR [--results-dir DIR] [--recos a,b] [--workers 2]
        [--new-options '{"charge_weight": 0}']   # reco_options of table_mpe (a variant)
        [--held-out [--held-out-published RA,DEC,SOURCE]]   # + the held-out Gold alert

For each reco (``online_gaussian``, ``pandel_mpe``, ``table_mpe``) and each shared real event
(``../shared/data/real/``): a full default scan (nsides 8:0, 64:12, 512:24; in-process workers), or the
result file ``<event>.<reco>.json`` found in --results-dir; the regions with the threshold set the result
declares (``region_method``, as the daemon applies it); the best fit's offset from the published
position (IceCat-1 for run 136662, Rev 1 of the GCN notice for run 138632); the published position's
2 Delta LLH (its direction fitted exactly, not read off a pixel) and whether it lies inside the 90%
region; the 50% / 90% areas; and, over the 12 nside-1 directions of IceCube's SplineMPE reference
scan (``../shared/data/reference-scans/splinempe/``), the Spearman rank correlation of this reco's
-ln L (each direction fitted by the reco, to the end: no far-pixel give-up) with SplineMPE's and
whether the best of the 12 is the same pixel; the wall time of one pixel's fit on one core (a sample
of the scan's pixels). Last, whether the new reco beats the online fit on both events (closer to the
published position, which lies inside its 90% region): the rule for making it the default plan entry.
A skymap picture per reco and event is written to --out-dir (skymist's renderer, online direction
marked).

``--held-out`` adds a third real event that no option was tuned on: the Gold alert of 2022-06-24 (run
136766, ``tests/skyscan_core/data/``), scanned and analysed the same way, with the offset and 2 Delta LLH
of its online (Rev 0) direction; it has no SplineMPE reference scan, and its published refined position
is given with ``--held-out-published RA,DEC,SOURCE`` (without it, the fields that need it are null). It
never enters the verdict.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import healpy
import numpy as np
from scipy.stats import spearmanr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.real_events import EVENTS, scan_or_reuse, shared_data  # noqa: E402
from skybase.event import RealtimeEvent  # noqa: E402
from skybase.sky import angular_distance_deg, detector_to_j2000  # noqa: E402
from skymist.skymap.analysis import analyze_scan  # noqa: E402
from skymist.skymap.model import threshold_set  # noqa: E402
from skymist.skymap.picture import ComparisonPosition, write_png  # noqa: E402
from skymist.skymap.reader import parse_skyscan_result  # noqa: E402
from skyscan.recos import RecoOptionError, get_reco  # noqa: E402
from skyscan.recos.base import PixelSeed, Reco  # noqa: E402

#: the held-out real event (``--held-out``): not in ../shared, never used to choose an option
HELD_OUT = "run00136766-evt000007637140-GOLD.json"
HELD_OUT_DIR = REPO / "tests" / "skyscan_core" / "data"
RECOS = ("online_gaussian", "pandel_mpe", "table_mpe")
NEW_RECO = "table_mpe"


def fit_at(reco: Reco, ra_deg: float, dec_deg: float, nside: int = 512, index: int = 0) -> float:
    return reco.fit(
        PixelSeed(nside=nside, index=index, ra=math.radians(ra_deg), dec=math.radians(dec_deg))
    ).llh


def reference_comparison(reco: Reco, stem: str) -> dict[str, Any]:
    """Spearman correlation of this reco's -ln L with SplineMPE's over the 12 nside-1 pixels."""
    run, evt = stem.split("-")[:2]
    path = shared_data() / "reference-scans" / "splinempe" / f"{run}.{evt}.json"
    ref = json.loads(path.read_text())["nside-1"]
    columns = ref["columns"]
    spline = {int(row[columns.index("index")]): float(row[columns.index("llh")]) for row in ref["data"]}
    indices = sorted(spline)
    theta, phi = healpy.pix2ang(1, indices, nest=False)
    ours = [
        fit_at(reco, math.degrees(p), 90.0 - math.degrees(t), nside=1, index=i)
        for i, t, p in zip(indices, theta, phi, strict=True)
    ]
    theirs = [spline[i] for i in indices]
    rho = spearmanr(ours, theirs).statistic
    return {
        "spearman_vs_splinempe": round(float(rho), 3),
        "best_of_12": indices[int(np.argmin(ours))],
        "splinempe_best_of_12": indices[int(np.argmin(theirs))],
        "same_best_of_12": bool(np.argmin(ours) == np.argmin(theirs)),
        "llh_range_over_12": round(max(ours) - min(ours), 1),
        "splinempe_llh_range_over_12": round(max(theirs) - min(theirs), 1),
    }


def pixel_times(reco: Reco, result: dict[str, Any]) -> dict[str, Any]:
    """Wall time of one pixel's fit in this process (one core): every 4th nside-8 pixel (mostly far from
    the light) and 64 of the scan's nside-512 pixels (near the best fit)."""
    out: dict[str, Any] = {}
    for key, nside, rows in (("nside8", 8, result["nside-8"]["data"][::4]), ("nside512", 512, None)):
        if rows is None:
            rows = result.get(f"nside-{nside}", {}).get("data", [])[:64]
        times = []
        for row in rows:
            theta, phi = healpy.pix2ang(nside, int(row[0]), nest=False)
            started = time.perf_counter()
            reco.fit(PixelSeed(nside=nside, index=int(row[0]), ra=float(phi), dec=math.pi / 2 - float(theta)))
            times.append(time.perf_counter() - started)
        if times:
            out[f"ms_per_pixel_one_core_{key}"] = {
                "pixels": len(times),
                "median": round(1e3 * float(np.median(times)), 2),
                "mean": round(1e3 * float(np.mean(times)), 2),
                "max": round(1e3 * float(np.max(times)), 2),
            }
    return out


def event_path(name: str) -> Path:
    return HELD_OUT_DIR / name if name == HELD_OUT else shared_data() / "real" / name


def one(
    name: str, algo: str, args: argparse.Namespace, published: tuple[str, float, float] | None
) -> dict[str, Any]:
    message = json.loads(event_path(name).read_text())
    stem = name.removesuffix(".json")
    options: dict[str, Any] = dict(args.new_options) if algo == NEW_RECO else {}
    tag = algo + "".join(f"-{k}={v}" for k, v in sorted(options.items()))
    result, seconds = scan_or_reuse(
        message,
        f"cmp-{algo}-{stem}",
        algo,
        cached=args.results_dir / f"{stem}.{tag}.json" if args.results_dir else None,
        save_to=args.out_dir / f"{stem}.{tag}.json",
        workers=args.workers,
        options=options,
    )
    event = RealtimeEvent.read(message)
    online = event.require_online()
    on_ra, on_dec = detector_to_j2000(online.zen, online.azi, event.event_time)
    cls = get_reco(algo)
    reco = cls.from_setup(json.loads(json.dumps(cls.prepare(event, options))))
    scan = parse_skyscan_result(result, source=name)
    declared = scan.metadata.region_method or "calibrated"
    tset = threshold_set(declared)
    analysis = analyze_scan(scan, tset)
    best = analysis.best_fit
    at_online = 2.0 * (fit_at(reco, on_ra, on_dec) - best.llh)
    at_published = None if published is None else 2.0 * (fit_at(reco, published[1], published[2]) - best.llh)
    entry: dict[str, Any] = {
        "reco_options": options,
        "scan_seconds": seconds,
        "workers": args.workers if seconds is not None else None,
        "pixels": {k: len(v["data"]) for k, v in result.items()},
        "region_method": declared,
        "levels_2dllh": [tset.level_50, tset.level_90],
        "best_fit": {
            "ra_deg": round(best.ra_deg, 3),
            "dec_deg": round(best.dec_deg, 3),
            "llh": round(best.llh, 3),
        },
        "published": None
        if published is None
        else {"source": published[0], "ra_deg": published[1], "dec_deg": published[2]},
        "offset_from_published_deg": None
        if published is None
        else round(angular_distance_deg(best.ra_deg, best.dec_deg, published[1], published[2]), 3),
        "offset_from_online_deg": round(angular_distance_deg(best.ra_deg, best.dec_deg, on_ra, on_dec), 3),
        "two_delta_llh_at_online": round(at_online, 2),
        "two_delta_llh_at_published": None if at_published is None else round(at_published, 2),
        "published_inside_90": None if at_published is None else bool(at_published <= tset.level_90),
        "area_50_deg2": round(analysis.area_50_deg2, 3),
        "area_90_deg2": round(analysis.area_90_deg2, 3),
    }
    reference = shared_data() / "reference-scans" / "splinempe"
    if not (reference / f"{'.'.join(stem.split('-')[:2])}.json").exists():
        entry.update(pixel_times(reco, result))
        picture = args.out_dir / f"{stem}.{tag}.png"
        write_png(analysis, picture, ComparisonPosition(on_ra, on_dec, "online (Rev 0)"))
        entry["png"] = str(picture)
        return entry
    try:  # every one of the 12 directions fitted to the end: no far-pixel give-up
        full = cls.from_setup(json.loads(json.dumps(cls.prepare(event, {**options, "give_up_dllh": 0}))))
    except RecoOptionError:
        full = reco
    entry.update(reference_comparison(full, stem))
    entry.update(pixel_times(reco, result))
    picture = args.out_dir / f"{stem}.{tag}.png"
    write_png(analysis, picture, ComparisonPosition(on_ra, on_dec, "online (Rev 0)"))
    entry["png"] = str(picture)
    return entry


def verdict(events: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Whether the new reco beats the online fit on every event, and by how much it misses."""
    per_event = {}
    for name, recos in events.items():
        if name == HELD_OUT:
            continue
        new, online = recos.get(NEW_RECO), recos.get("online_gaussian")
        if new is None or online is None:
            continue
        per_event[name] = {
            "offset_new_minus_online_deg": round(
                new["offset_from_published_deg"] - online["offset_from_published_deg"], 3
            ),
            "published_inside_90_new": new["published_inside_90"],
            "published_inside_90_online": online["published_inside_90"],
            "beats_online": bool(
                new["offset_from_published_deg"] < online["offset_from_published_deg"]
                and new["published_inside_90"]
            ),
        }
    beats = bool(per_event) and all(v["beats_online"] for v in per_event.values())
    return {"per_event": per_event, "new_reco_beats_online_on_both": beats, "default_plan_change": beats}


def published_position(text: str) -> tuple[str, float, float]:
    """``RA,DEC,SOURCE`` (degrees J2000) -> (SOURCE, RA, DEC), or argparse's one-line error."""
    parts = text.split(",", 2)
    try:
        ra, dec = float(parts[0]), float(parts[1])
        source = parts[2].strip()
    except (IndexError, ValueError):
        raise argparse.ArgumentTypeError(f"expected RA,DEC,SOURCE, got {text!r}") from None
    if not (0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0 and source):
        raise argparse.ArgumentTypeError(
            f"expected RA in [0, 360), Dec in [-90, 90] and a source, got {text!r}"
        )
    return source, ra, dec


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, help="reuse <event>.<reco>.json results found here")
    parser.add_argument("--recos", default=",".join(RECOS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--new-options", type=json.loads, default={}, help=f"reco_options of {NEW_RECO} (JSON object)"
    )
    parser.add_argument("--held-out", action="store_true", help=f"also the held-out Gold alert {HELD_OUT}")
    parser.add_argument(
        "--held-out-published",
        type=published_position,
        help="the held-out alert's published refined position: RA,DEC,SOURCE (degrees J2000)",
    )
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    published: dict[str, tuple[str, float, float] | None] = {name: v for name, v in EVENTS.items()}
    if args.held_out:
        published[HELD_OUT] = args.held_out_published
    events: dict[str, dict[str, Any]] = {}
    for name, position in published.items():
        events[name] = {algo: one(name, algo, args, position) for algo in args.recos.split(",")}
    print(json.dumps({"events": events, "verdict": verdict(events)}, indent=1))


if __name__ == "__main__":
    main()
