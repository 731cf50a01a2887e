"""The region thresholds calibrated for ``pandel_mpe`` on simulation, shipped as package data.

``data/thresholds_pandel_mpe.json`` is written by ``skyscan calibrate`` (see :mod:`skyscan.calibration`):
a named set of 2 Delta llh levels (50% / 90%) of the same kind as skymist's ``calibrated`` set (IceCube's
22.2 / 64.2) with its provenance (simulated events, seeds, held-out coverage, code commit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

THRESHOLDS_FILE = "thresholds_pandel_mpe.json"


@dataclass(frozen=True)
class CalibratedThresholds:
    name: str
    level_50: float
    level_90: float
    description: str
    record: dict[str, Any]  # the whole file: coverage, resolution, provenance


def load_threshold_set() -> CalibratedThresholds:
    text = resources.files("skyscan").joinpath("data").joinpath(THRESHOLDS_FILE).read_text(encoding="utf-8")
    record = json.loads(text)
    if record.get("kind") != "two_delta_llh":
        raise ValueError(f"{THRESHOLDS_FILE}: kind must be 'two_delta_llh', got {record.get('kind')!r}")
    return CalibratedThresholds(
        str(record["name"]),
        float(record["level_50"]),
        float(record["level_90"]),
        str(record["description"]),
        record,
    )
