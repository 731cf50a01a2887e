"""What the benchmarks on the two shared real events share: the events with their published positions,
the default scan's nsides, an observer that keeps nothing, where the shared data lie, and a scan run
in-process (or its result read back from an earlier run)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from skyscan.engine import ScanRequest, run_scan
from skyscan.workers import open_pool

REPO = Path(__file__).resolve().parents[1]

#: event file (in ``../shared/data/real/``) -> (which published position, RA, Dec in degrees)
EVENTS = {
    "run00136662-evt000035405932-BRONZE.json": ("IceCat-1", 47.20, -3.28),
    "run00138632-evt000031747601-BRONZE.json": ("Rev 1", 139.0399, 0.3699),
}
#: the default scan: (nside, pixels refined around the best) per step
NSIDES = ((8, 0), (64, 12), (512, 24))


class Quiet:
    """Observer that keeps nothing (the benchmark reads the scan's returned result)."""

    def manifest_patch(self, body: dict[str, Any]) -> None:
        pass

    def result(self, skyscan_result: dict[str, Any], is_final: bool) -> None:
        pass


def shared_data() -> Path:
    """``../shared/data`` (beside the checkout, or one level further up); exits if not found."""
    for candidate in (REPO.parent / "shared", REPO.parent.parent / "shared"):
        if (candidate / "data" / "real").is_dir():
            return candidate / "data"
    raise SystemExit("../shared/data not found")


def real_dir() -> Path:
    """``../shared/data/real``: the real events' message files."""
    return shared_data() / "real"


def scan_or_reuse(
    message: dict[str, Any],
    scan_id: str,
    reco: str,
    *,
    cached: Path | None,
    save_to: Path,
    workers: int,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], float | None]:
    """The default scan of ``message`` with ``reco`` (in-process workers), saved to ``save_to``, and its
    wall time (s); or, when the file ``cached`` exists, the result it holds and no time."""
    if cached is not None and cached.exists():
        reused: dict[str, Any] = json.loads(cached.read_text())
        return reused, None
    started = time.monotonic()
    with open_pool("inprocess", workers=workers) as pool:
        request = ScanRequest(scan_id, message, reco, NSIDES, reco_options=options or {})
        result = run_scan(request, Quiet(), pool=pool)
    seconds = round(time.monotonic() - started, 1)
    save_to.write_text(json.dumps(result))
    return result, seconds
