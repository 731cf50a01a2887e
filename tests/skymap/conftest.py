"""Fixtures for the skymap tests: the real scan in ../shared and synthetic scans with known shapes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.skymap.skymap_synth import gaussian_llh_layers, skyreader_doc, write_json

_REPO = Path(__file__).resolve().parents[2]
# beside the repository (as tests/conftest.py looks for it), or linked inside a worktree
SHARED = next((p for p in (_REPO.parent / "shared", _REPO / "shared") if p.is_dir()), _REPO.parent / "shared")
REAL = SHARED / "data" / "real"
REAL_NPZ = REAL / "run00136662-evt000035405932-BRONZE-8_64_512.npz"
REAL_EVENT = REAL / "run00136662-evt000035405932-BRONZE.json"


@pytest.fixture(scope="session")
def real_npz() -> Path:
    if not REAL_NPZ.exists():
        pytest.skip(f"shared data not found at {REAL_NPZ}")
    return REAL_NPZ


@pytest.fixture(scope="session")
def real_event() -> Path:
    if not REAL_EVENT.exists():
        pytest.skip(f"shared data not found at {REAL_EVENT}")
    return REAL_EVENT


@pytest.fixture
def make_json(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def make(
        ra_deg: float = 120.0,
        dec_deg: float = 10.0,
        sigma_deg: float = 1.0,
        version: int = 1,
        nan: str = "sentinel",
    ) -> Path:
        layers = gaussian_llh_layers(ra_deg, dec_deg, sigma_deg)
        return write_json(skyreader_doc(layers, version, nan), tmp_path / f"scan{next(counter)}.json")

    return make
