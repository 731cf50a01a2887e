"""Calibrating ``pandel_mpe``'s regions on simulation, as IceCube derived its 22.2 / 64.2 thresholds.

For each simulated event (``skyscan simulate`` or ``skyscan truthsim``, found by
:mod:`skyscan.simulated_events`) the likelihood is minimised over the direction (the same per-pixel
vertex fit a scan does, Nelder-Mead on the sphere started from the LineFit first guess and from the
true direction, the lower minimum kept: a scan evaluates the whole sky, so the global minimum is at
least that low), and 2 Delta llh = 2 (llh(true direction) - llh(best)) is recorded with the best fit's
angular error. The 50% and 90% quantiles of 2 Delta llh on the calibration events are the thresholds
whose regions contain the truth 50% / 90% of the time; coverage is then measured on events not used for
the thresholds, and the angular resolution (median error) reported per energy band.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from skybase.event import RealtimeEvent
from skybase.json_types import JSONObject
from skyscan.recos.pandel_mpe import PandelMPEReco
from skyscan.recos.track_llh import perpendicular_basis

FloatArray = npt.NDArray[np.float64]
ENERGY_BANDS_LOG10_GEV = ((4.0, 4.5), (4.5, 5.0), (5.0, 5.5), (5.5, 6.0))
_SIMPLEX_DEG = 0.7
_XATOL_DEG = 0.02


def from_direction(zenith: float, azimuth: float) -> FloatArray:
    st = math.sin(zenith)
    return np.array([st * math.cos(azimuth), st * math.sin(azimuth), math.cos(zenith)])


def angle_deg(a: FloatArray, b: FloatArray) -> float:
    cos = float(a @ b) / float(np.linalg.norm(a) * np.linalg.norm(b))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


@dataclass(frozen=True)
class EventOutcome:
    """One simulated event's calibration numbers."""

    name: str
    energy_gev: float
    nch: int
    two_delta_llh: float  # 2 (llh(truth) - llh(best))
    error_deg: float  # best fit vs truth
    linefit_error_deg: float  # the first guess vs truth
    evaluations: int
    seconds: float


def minimise_direction(reco: PandelMPEReco, start_from: FloatArray) -> tuple[FloatArray, float, int]:
    """Nelder-Mead over the muon's travel direction in the tangent plane of ``start_from`` (a unit
    travel direction): (best direction, its llh, pixel fits used)."""
    e1, e2 = perpendicular_basis(start_from)
    count = 0

    def direction(x: Sequence[float]) -> FloatArray:
        d = start_from + math.radians(x[0]) * e1 + math.radians(x[1]) * e2
        out: FloatArray = d / np.linalg.norm(d)
        return out

    def llh(x: Sequence[float]) -> float:
        nonlocal count
        count += 1
        return reco.fit_direction(direction(x))[0].llh

    simplex = np.array([[0.0, 0.0], [_SIMPLEX_DEG, 0.0], [0.0, _SIMPLEX_DEG]])
    result = minimize(
        llh,
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": _XATOL_DEG, "fatol": 0.01, "initial_simplex": simplex, "maxfev": 150},
    )
    return direction(result.x), float(result.fun), count


def evaluate_event(message: JSONObject, name: str, options: JSONObject) -> EventOutcome:
    started = time.monotonic()
    data = message["value"]["data"]
    truth = data["simulation"]
    reco = PandelMPEReco.from_setup(PandelMPEReco.prepare(RealtimeEvent.read(message), options))
    true_travel = -from_direction(truth["zenith"], truth["azimuth"])
    guess = data["reco"]["linefit"]
    guess_travel = -from_direction(guess["zen"], guess["azi"])
    llh_true = reco.fit_direction(true_travel)[0].llh
    best_dir, best_llh, n1 = minimise_direction(reco, guess_travel)
    other_dir, other_llh, n2 = minimise_direction(reco, true_travel)
    if other_llh < best_llh:
        best_dir, best_llh = other_dir, other_llh
    best_llh = min(best_llh, llh_true)
    return EventOutcome(
        name=name,
        energy_gev=float(truth["energy_gev"]),
        nch=int(data["nch"]),
        two_delta_llh=2.0 * (llh_true - best_llh),
        error_deg=angle_deg(best_dir, true_travel),
        linefit_error_deg=angle_deg(guess_travel, true_travel),
        evaluations=n1 + n2 + 1,
        seconds=time.monotonic() - started,
    )


def evaluate_files(
    files: Iterable[Path],
    cache: Path,
    options: JSONObject,
    progress: Callable[[EventOutcome], None] | None = None,
) -> list[EventOutcome]:
    """Evaluate event files, reusing outcomes already in the ``cache`` JSON-lines file (resumable)."""
    done: dict[str, EventOutcome] = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            if line.strip():
                outcome = EventOutcome(**json.loads(line))
                done[outcome.name] = outcome
    out = []
    with cache.open("a") as sink:
        for path in files:
            if path.name not in done:
                outcome = evaluate_event(json.loads(path.read_text()), path.name, options)
                sink.write(json.dumps(asdict(outcome)) + "\n")
                sink.flush()
                done[path.name] = outcome
                if progress is not None:
                    progress(outcome)
            out.append(done[path.name])
    return out


def _binomial(k: int, n: int) -> dict[str, float]:
    p = k / n if n else math.nan
    return {
        "fraction": round(p, 4),
        "error": round(math.sqrt(p * (1 - p) / n), 4) if n else math.nan,
        "contained": k,
        "events": n,
    }


def resolution_by_band(outcomes: Sequence[EventOutcome]) -> list[JSONObject]:
    bands = []
    for lo, hi in ENERGY_BANDS_LOG10_GEV:
        sel = [o for o in outcomes if lo <= math.log10(o.energy_gev) < hi or math.log10(o.energy_gev) == hi]
        bands.append(
            {
                "log10_energy_gev": [lo, hi],
                "events": len(sel),
                "median_error_deg": round(float(np.median([o.error_deg for o in sel])), 3) if sel else None,
                "median_linefit_error_deg": (
                    round(float(np.median([o.linefit_error_deg for o in sel])), 3) if sel else None
                ),
            }
        )
    return bands


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def calibrate(
    calibration: Sequence[EventOutcome],
    held_out: Sequence[EventOutcome],
    provenance: JSONObject,
    source: str = "skyscan simulate",
) -> JSONObject:
    """Thresholds from ``calibration``; coverage and resolution on ``held_out``; ``source`` names the
    simulation of the calibration events in the description."""
    if len(calibration) < 20 or not held_out:
        raise ValueError(
            f"calibrate: need >= 20 calibration events and some held-out ones, got {len(calibration)} and "
            f"{len(held_out)}"
        )
    values = np.array([o.two_delta_llh for o in calibration])
    level_50, level_90 = (float(v) for v in np.quantile(values, [0.5, 0.9]))
    test = np.array([o.two_delta_llh for o in held_out])
    return {
        "name": "pandel_mpe_simulation",
        "kind": "two_delta_llh",
        "level_50": round(level_50, 3),
        "level_90": round(level_90, 3),
        "description": (
            f"Change in 2LLH of {level_50:.1f} (50%) and {level_90:.1f} (90%) for pandel_mpe, calibrated on "
            f"{len(calibration)} events of {source}"
        ),
        "coverage_held_out": {
            "50": _binomial(int((test <= level_50).sum()), len(test)),
            "90": _binomial(int((test <= level_90).sum()), len(test)),
        },
        "median_error_deg": {
            "held_out": round(float(np.median([o.error_deg for o in held_out])), 3),
            "held_out_linefit": round(float(np.median([o.linefit_error_deg for o in held_out])), 3),
        },
        "resolution_by_energy_held_out": resolution_by_band(held_out),
        "provenance": {
            **provenance,
            "calibration_events": [*[o.name for o in calibration][:3], "..."],
            "n_calibration": len(calibration),
            "n_held_out": len(held_out),
            "git_commit": git_commit(),
            "method": "2 (llh(true) - llh(min)) per event; thresholds = its 50% / 90% quantiles "
            "(skyscan.calibration)",
        },
    }
