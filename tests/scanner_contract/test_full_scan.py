"""One full default-resolution scan (8:0 64:12 512:24) of a real event with ``online_gaussian``,
through ``skyscan serve`` and ``scanner_client``: its final result and last progress. (Partial results
and progress while a scan runs are checked, held at the dummy reco's gate, in test_lifecycle.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scanner_client import LaunchScanRequest
from tests.scanner_contract.conftest import Service, service_env
from tests.waiting import scaled


def test_default_resolution_scan_of_a_real_event(
    make_database: Callable[[], str], real_event: dict[str, Any]
) -> None:
    service = Service(
        # SkyDriver's intervals: no partial result of ~3k pixels to build and store while it runs
        make_database(),
        service_env(WORKERS=2, PROGRESS_INTERVAL_S=60, RESULT_INTERVAL_S=120),
    ).start()
    try:
        with service.client() as client:
            request = LaunchScanRequest(
                cluster={"local": 2},
                reco_algo="online_gaussian",
                event_i3live_json=real_event,
                nsides={8: 0, 64: 12, 512: 24},
                real_or_simulated_event="real",
                max_pixel_reco_time=60,
                priority=100,
            )
            scan_id = client.launch_scan(request).scan_id
            result = client.wait_for_final_result(
                scan_id, poll_interval_s=0.2, timeout_s=scaled(300), stall_timeout_s=scaled(120)
            )
            manifest = client.get_manifest(scan_id)
    finally:
        service.stop()
    sky = result.skyscan_result
    assert sky.nsides == [8, 64, 512] and sky.complete
    assert len(sky.at(8).data) == 768
    assert 2800 <= sky.n_pixels <= 4000, sky.n_pixels
    metadata = sky.at(512).metadata
    assert (metadata.run_id, metadata.event_id, metadata.is_real_event) == (138632, 31747601, True)
    best = sky.best_fit()
    assert best is not None and best.nside == 512
    assert manifest.progress is not None and manifest.progress.processing_stats.finished
