"""How wide ``online_gaussian``'s regions must be: calibrated on how far IceCube's online fits lay from its
refined positions, for public Gold/Bronze track alerts.

The sample (``data/online_offsets_gcn.csv``, built by ``scripts/build_online_offsets.py`` from two public
archives of GCN notices, provenance in the file's ``source`` columns and in the calibration record) gives
per alert the Revision 0 position and 90% radius of the GCN notice (the online SplineMPE fit, what
``online_gaussian`` also starts from) and the refined position published afterwards (the Revision 1
notice or the Circular). The offset between the two is what the approximation's regions must hold.

Model: the 50% and 90% radii grow with the Revision 0 radius ``w`` (GCN's own uncertainty of the online
fit; deg) as ``r(w) = sqrt(floor^2 + (scale * w)^2)``. For each containment q, every scale on a grid is
given the smallest floor whose radii hold at least q of the training alerts, and the pair with the
smallest mean area (mean r^2) is kept: the sharpest radii that hold q of the training sample. At run time
``w`` is what GCN would publish for the event: ``max(Err50 floor 0.2 deg, 1.696 bs_est) * 2.567``
(:func:`prompt_err90_deg`; the rule that reproduces the published Rev 0 radii of the real events).

Alerts are split by run number: every third one (in run order) is held out and only measures coverage.
``skyscan calibrate-online`` recomputes everything from the shipped sample and prints the record; the
record shipped beside it (``data/online_gaussian_calibration.json``) is that output.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from skybase.json_types import JSONObject

SAMPLE_FILE = "online_offsets_gcn.csv"
CALIBRATION_FILE = "online_gaussian_calibration.json"

#: GCN's prompt radii of IceCube tracks (see skymist's prompt_position, which makes the Rev 0 notice):
#: Err50 = max(0.2 deg, 1.696 bs_est), Err90 = 2.567 Err50 (the floor pair is 12.00' / 30.80')
PROMPT_ERR50_FLOOR_DEG = 0.2
PROMPT_R50_PER_BS_EST = 1.696
PROMPT_R90_PER_R50 = 2.567
PROMPT_ERR90_FLOOR_DEG = PROMPT_R90_PER_R50 * PROMPT_ERR50_FLOOR_DEG

#: every third alert in run order is held out (index % 3 == 2)
HELD_OUT_EVERY = 3
#: the scales tried for each radius model
SCALE_GRID = tuple(round(0.05 * i, 2) for i in range(61))  # 0.00 .. 3.00
#: the refined position must differ from Rev 0 by more than this (deg) to count as a refinement
SAME_POSITION_DEG = 0.01

FloatArray = npt.NDArray[np.float64]

#: the sample file's columns, in order (``scripts/build_online_offsets.py`` writes them)
SAMPLE_COLUMNS = (
    "name",
    "run_id",
    "event_id",
    "stream",
    "energy_tev",
    "signalness",
    "rev0_ra_deg",
    "rev0_dec_deg",
    "rev0_err90_deg",
    "refined_ra_deg",
    "refined_dec_deg",
    "refined_from",
    "source",
    "source_commit",
)


class CalibrationDataError(ValueError):
    """The calibration sample or record is not what this module reads (the message names row and column)."""


def prompt_err90_deg(bs_est_rad: float | None) -> float:
    """The 90% radius GCN publishes in the Rev 0 notice of an online fit with this bootstrap estimate."""
    if bs_est_rad is None:
        return PROMPT_ERR90_FLOOR_DEG
    return PROMPT_R90_PER_R50 * max(PROMPT_ERR50_FLOOR_DEG, PROMPT_R50_PER_BS_EST * math.degrees(bs_est_rad))


def angular_distance_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (deg) between two (RA, Dec) in degrees (haversine: exact at small angles)."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    hav = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
    return math.degrees(2.0 * math.asin(min(1.0, math.sqrt(hav))))


@dataclass(frozen=True)
class OffsetRow:
    """One public alert: its Rev 0 notice and the refined position published after it."""

    name: str
    run_id: int
    event_id: int
    stream: str
    rev0_ra_deg: float
    rev0_dec_deg: float
    rev0_err90_deg: float
    refined_ra_deg: float
    refined_dec_deg: float
    refined_from: str
    source: str

    @property
    def offset_deg(self) -> float:
        return angular_distance_deg(
            self.rev0_ra_deg, self.rev0_dec_deg, self.refined_ra_deg, self.refined_dec_deg
        )

    @property
    def width_deg(self) -> float:
        """The Rev 0 radius as the model reads it (GCN's radii are never below the floor pair's 30.80')."""
        return max(self.rev0_err90_deg, PROMPT_ERR90_FLOOR_DEG)


def _number(row: dict[str, str], column: str, line: int, low: float, high: float) -> float:
    text = row.get(column, "")
    try:
        value = float(text)
    except ValueError:
        raise CalibrationDataError(
            f"{SAMPLE_FILE} line {line}: {column} = {text!r} is not a number"
        ) from None
    if not (math.isfinite(value) and low <= value <= high):
        raise CalibrationDataError(f"{SAMPLE_FILE} line {line}: {column} = {value!r} outside [{low}, {high}]")
    return value


def read_sample(text: str) -> list[OffsetRow]:
    """The rows of a sample CSV (the columns of ``scripts/build_online_offsets.py``), each field checked."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in SAMPLE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CalibrationDataError(f"{SAMPLE_FILE}: columns {missing} missing")
    rows: list[OffsetRow] = []
    for line, row in enumerate(reader, start=2):
        rows.append(
            OffsetRow(
                name=row["name"],
                run_id=int(_number(row, "run_id", line, 1, 2**32 - 1)),
                event_id=int(_number(row, "event_id", line, 0, 2**32 - 1)),
                stream=row["stream"],
                rev0_ra_deg=_number(row, "rev0_ra_deg", line, 0.0, 360.0),
                rev0_dec_deg=_number(row, "rev0_dec_deg", line, -90.0, 90.0),
                rev0_err90_deg=_number(row, "rev0_err90_deg", line, 0.0, 180.0),
                refined_ra_deg=_number(row, "refined_ra_deg", line, 0.0, 360.0),
                refined_dec_deg=_number(row, "refined_dec_deg", line, -90.0, 90.0),
                refined_from=row["refined_from"],
                source=row["source"],
            )
        )
    return rows


def sample_text() -> str:
    return resources.files("skyscan").joinpath("data").joinpath(SAMPLE_FILE).read_text(encoding="utf-8")


def select(rows: Sequence[OffsetRow]) -> tuple[list[OffsetRow], list[dict[str, str]]]:
    """The alerts the calibration uses, and the others with the reason each is left out."""
    kept: list[OffsetRow] = []
    left_out: list[dict[str, str]] = []
    for row in rows:
        if row.rev0_err90_deg <= 0.0:
            left_out.append({"name": row.name, "reason": "no Rev 0 radius in the source (90% area 0.00)"})
        elif row.offset_deg <= SAME_POSITION_DEG:
            reason = "the refined position published is the Rev 0 position"
            left_out.append({"name": row.name, "reason": reason})
        else:
            kept.append(row)
    return kept, left_out


def split(rows: Sequence[OffsetRow]) -> tuple[list[OffsetRow], list[OffsetRow]]:
    """(training, held out): in (run, event) order, every third alert is held out."""
    ordered = sorted(rows, key=lambda r: (r.run_id, r.event_id))
    training = [r for i, r in enumerate(ordered) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]
    held_out = [r for i, r in enumerate(ordered) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    return training, held_out


@dataclass(frozen=True)
class RadiusModel:
    """r(w) = sqrt(floor^2 + (scale * w)^2), degrees."""

    floor_deg: float
    scale: float

    def radius(self, width_deg: float) -> float:
        return math.hypot(self.floor_deg, self.scale * width_deg)

    def radii(self, widths: FloatArray) -> FloatArray:
        return np.asarray(np.hypot(self.floor_deg, self.scale * widths), dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return {"floor_deg": round(self.floor_deg, 6), "scale": self.scale}


def fit_radius(offsets: FloatArray, widths: FloatArray, containment: float) -> RadiusModel:
    """The sharpest model (smallest mean r^2 over the sample) whose radii hold ``containment`` of it."""
    if not 0.0 < containment < 1.0 or len(offsets) == 0:
        raise ValueError(f"fit_radius: containment {containment} and {len(offsets)} offsets")
    best: tuple[float, RadiusModel] | None = None
    for scale in SCALE_GRID:
        needed = np.sqrt(np.maximum(offsets**2 - (scale * widths) ** 2, 0.0))
        floor = float(np.quantile(needed, containment, method="higher"))
        mean_area = float(np.mean(floor**2 + (scale * widths) ** 2))
        if best is None or mean_area < best[0]:
            best = (mean_area, RadiusModel(floor, scale))
    assert best is not None
    return best[1]


def _coverage(inside: npt.NDArray[np.bool_]) -> JSONObject:
    n, k = len(inside), int(inside.sum())
    fraction = k / n if n else float("nan")
    error = math.sqrt(fraction * (1.0 - fraction) / n) if n else float("nan")
    return {"fraction": round(fraction, 4), "error": round(error, 4), "contained": k, "alerts": n}


def _arrays(rows: Sequence[OffsetRow]) -> tuple[FloatArray, FloatArray]:
    return (
        np.array([r.offset_deg for r in rows], dtype=np.float64),
        np.array([r.width_deg for r in rows], dtype=np.float64),
    )


def _evaluate(r50: RadiusModel, r90: RadiusModel, rows: Sequence[OffsetRow]) -> JSONObject:
    offsets, widths = _arrays(rows)
    radii90 = r90.radii(widths)
    return {
        "alerts": len(rows),
        "coverage_50": _coverage(offsets <= r50.radii(widths)),
        "coverage_90": _coverage(offsets <= radii90),
        "median_area_90_deg2": round(float(np.median(math.pi * radii90**2)), 3),
        "mean_area_90_deg2": round(float(np.mean(math.pi * radii90**2)), 3),
        "median_offset_deg": round(float(np.median(offsets)), 3),
    }


def calibrate(text: str | None = None) -> JSONObject:
    """The calibration record of a sample CSV (default: the shipped one)."""
    text = sample_text() if text is None else text
    rows = read_sample(text)
    kept, left_out = select(rows)
    training, held_out = split(kept)
    offsets, widths = _arrays(training)
    r50 = fit_radius(offsets, widths, 0.5)
    r90 = fit_radius(offsets, widths, 0.9)
    if any(r90.radius(w) <= r50.radius(w) for w in widths):
        raise CalibrationDataError("the 90% radius is not above the 50% radius for every training alert")
    ratios = offsets / widths
    alternatives = {
        "constant radius": (
            RadiusModel(float(np.quantile(offsets, 0.5, method="higher")), 0.0),
            RadiusModel(float(np.quantile(offsets, 0.9, method="higher")), 0.0),
        ),
        "Rev 0 radius scaled, no floor": (
            RadiusModel(0.0, float(np.quantile(ratios, 0.5, method="higher"))),
            RadiusModel(0.0, float(np.quantile(ratios, 0.9, method="higher"))),
        ),
    }
    comparisons = {
        label: {"r50": a50.to_dict(), "r90": a90.to_dict(), "held_out": _evaluate(a50, a90, held_out)}
        for label, (a50, a90) in alternatives.items()
    }
    sources = sorted({r.source for r in rows})
    return {
        "name": "online_gaussian_gcn_offsets",
        "kind": "radius_model",
        "model": "r(w) = sqrt(floor_deg^2 + (scale * w)^2); w = GCN's Rev 0 90% radius (deg), at run time "
        "2.567 * max(0.2, 1.696 * bs_est[deg])",
        "r50": r50.to_dict(),
        "r90": r90.to_dict(),
        "sample": {
            "file": SAMPLE_FILE,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "alerts": len(rows),
            "used": len(kept),
            "left_out": left_out,
            "sources": sources,
            "what": "IceCube Gold/Bronze track alerts, June 2019 - May 2022: Rev 0 GCN notice (online "
            "SplineMPE position and 90% radius) and the refined position published after it (Rev 1/2 "
            "notice or Circular)",
            "first": min(kept, key=lambda r: r.run_id).name,
            "last": max(kept, key=lambda r: r.run_id).name,
        },
        "split": f"in (run, event) order every {HELD_OUT_EVERY}rd alert is held out",
        "training": _evaluate(r50, r90, training),
        "held_out": _evaluate(r50, r90, held_out),
        "held_out_names": [r.name for r in held_out],
        "comparison_models": comparisons,
        "fit": "per containment q: for each scale in 0.00..3.00 (step 0.05) the smallest floor whose radii "
        "hold q of the training alerts; the pair with the smallest mean r^2 is kept",
    }


@dataclass(frozen=True)
class OnlineCalibration:
    """The shipped calibration: the 50% / 90% radius models and their record."""

    r50: RadiusModel
    r90: RadiusModel
    record: JSONObject

    def radii_deg(self, width_deg: float) -> tuple[float, float]:
        return self.r50.radius(width_deg), self.r90.radius(width_deg)


def _model(record: JSONObject, key: str) -> RadiusModel:
    try:
        part = record[key]
        model = RadiusModel(float(part["floor_deg"]), float(part["scale"]))
    except (KeyError, TypeError, ValueError):
        raise CalibrationDataError(f"{CALIBRATION_FILE}: {key} must be {{floor_deg, scale}}") from None
    values = (model.floor_deg, model.scale)
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise CalibrationDataError(f"{CALIBRATION_FILE}: {key} = {part!r}: floor_deg and scale must be >= 0")
    return model


def load_calibration() -> OnlineCalibration:
    """The record shipped beside the sample (``skyscan calibrate-online --output`` writes it)."""
    text = resources.files("skyscan").joinpath("data").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    record = json.loads(text)
    if not isinstance(record, dict) or record.get("kind") != "radius_model":
        raise CalibrationDataError(f"{CALIBRATION_FILE}: kind must be 'radius_model'")
    return OnlineCalibration(_model(record, "r50"), _model(record, "r90"), record)
