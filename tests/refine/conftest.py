"""Fixtures of the refined-products tests: the real IceCube scan as skyreader JSON, alerts waiting
for their skymap, the GCN Circulars API stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from skymist.skymap.convert import metadata_from_event_message, to_skyreader_dict
from skymist.skymap.reader import read_scan
from tests.refine.circulars_api import CircularsApiStandIn

SCAN_NPZ = "run00136662-evt000035405932-BRONZE-8_64_512.npz"
EVENT_JSON = "run00136662-evt000035405932-BRONZE.json"


@pytest.fixture(scope="session")
def real_scan_doc(shared_dir: Path) -> dict[str, object]:
    """IceCube-220524A's real 8/64/512 scan, converted to skyreader v1 JSON by skymist.skymap."""
    real = shared_dir / "data" / "real"
    event = json.loads((real / EVENT_JSON).read_text())
    # IceCube's own scan (millipede): a reconstruction, whose regions use the calibrated thresholds
    made_by = replace(
        metadata_from_event_message(event),
        reco_algo="millipede_original",
        reco_kind="reconstruction",
        region_method="calibrated",
    )
    return to_skyreader_dict(read_scan(real / SCAN_NPZ), made_by)


@pytest.fixture(scope="session")
def real_scan_json(real_scan_doc: dict[str, object]) -> bytes:
    """The verbatim ``skyscan_result`` bytes."""
    return json.dumps(real_scan_doc).encode()


@pytest.fixture
def gcn_circulars() -> Iterator[CircularsApiStandIn]:
    with CircularsApiStandIn() as stand_in:
        yield stand_in
