"""Runs one scan with ``skyscan.engine.run_scan`` in a thread.

The engine reports through :class:`StoreObserver`, which applies each report with the same store
methods the system-role routes use (``PATCH /scan/{id}/manifest``, ``PUT /scan/{id}/result``).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from skybase.json_types import JSONObject, JSONValue
from skybase.scan_requests import REAL_EVENT_CHOICES
from skyscan.recos.dummy_gate import GATE_DIR_ENV
from skyscan.server.lifecycle import Lifecycle
from skyscan.server.store import ScanStore
from skyscan.settings import SkyscanSettings

if TYPE_CHECKING:
    from skyscan.engine import ScanRequest
    from skyscan.server.documents import StoredRequest

LOG = logging.getLogger(__name__)


class StoreObserver:
    """The engine's ``ScanObserver``: reports land in the store as the system routes would put them."""

    def __init__(self, store: ScanStore, scan_id: str) -> None:
        self.store = store
        self.scan_id = scan_id

    def manifest_patch(self, body: JSONObject) -> None:
        self.store.patch_manifest(
            self.scan_id,
            progress=body.get("progress"),
            event_metadata=body.get("event_metadata"),
            scan_metadata=body.get("scan_metadata"),
            only_if_active=True,
        )

    def result(self, skyscan_result: JSONObject, is_final: bool) -> None:
        self.store.put_result(self.scan_id, skyscan_result, is_final=is_final)


@dataclass
class ScanRun:
    """A scan running in this process; ``cancel`` stops it, ``releasing`` tells why."""

    scan_id: str
    thread: threading.Thread
    cancel: threading.Event
    releasing: threading.Event


def engine_request(
    engine: ModuleType,
    scan_id: str,
    request: StoredRequest,
    event: Mapping[str, JSONValue],
    reco_options: Mapping[str, Mapping[str, JSONValue]],
) -> ScanRequest:
    """The engine's ``ScanRequest`` for a stored request."""
    scan_request: ScanRequest = engine.ScanRequest(
        scan_id=scan_id,
        event=event,
        reco_algo=request["reco_algo"],
        nsides=tuple((int(nside), int(ext)) for nside, ext in request["nsides"].items()),
        is_real_event=request["real_or_simulated_event"] in REAL_EVENT_CHOICES,
        max_pixel_reco_time=float(request["max_pixel_reco_time"]),
        predictive_scanning_threshold=float(request["predictive_scanning_threshold"]),
        reco_options=dict(reco_options.get(request["reco_algo"], {})),
    )
    return scan_request


def start_run(store: ScanStore, settings: SkyscanSettings, scan_id: str, owner: str) -> ScanRun:
    """Start a thread running the scan; it records its own outcome in the store."""
    cancel, releasing = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=_run,
        args=(store, settings, scan_id, owner, cancel, releasing),
        name=f"scan-{scan_id}",
        daemon=True,
    )
    run = ScanRun(scan_id, thread, cancel, releasing)
    thread.start()
    return run


def _run(
    store: ScanStore,
    settings: SkyscanSettings,
    scan_id: str,
    owner: str,
    cancel: threading.Event,
    releasing: threading.Event,
) -> None:
    try:
        engine = importlib.import_module("skyscan.engine")
        workers = importlib.import_module("skyscan.workers")
    except ImportError as exc:
        store.end_run(scan_id, Lifecycle.FAILED, f"scanner core not installed: {exc}")
        return
    try:
        inputs = store.get_run_inputs(scan_id)
        request = engine_request(engine, scan_id, inputs.request, inputs.event, settings.reco_options)
        broker = settings.broker_url.get_secret_value() if settings.broker_url else None
        worker_env = {GATE_DIR_ENV: str(settings.dummy_gate_dir)} if settings.dummy_gate_dir else None
        LOG.info(
            "scan running",
            extra={"scan_id": scan_id, "pool": settings.pool_kind, "workers": settings.workers},
        )
        with workers.open_pool(
            settings.pool_kind,
            workers=settings.workers,
            broker_url=broker,
            task_queue=settings.task_queue,
            worker_env=worker_env,
        ) as pool:
            final = engine.run_scan(
                request,
                StoreObserver(store, scan_id),
                pool=pool,
                cancel=cancel,
                progress_interval_s=settings.progress_interval_s,
                result_interval_s=settings.result_interval_s,
            )
        if store.lifecycle_of(scan_id) is not Lifecycle.FINISHED:
            store.put_result(scan_id, final, is_final=True)  # the engine returned without a final report
    except Exception as exc:
        if isinstance(exc, engine.ScanCancelled) and releasing.is_set():
            store.release(scan_id, owner, "service stopping")
        elif isinstance(exc, engine.ScanCancelled):
            store.end_run(scan_id, Lifecycle.ABORTED, "cancelled")
        else:
            LOG.exception("scan failed", extra={"scan_id": scan_id})
            store.end_run(scan_id, Lifecycle.FAILED, f"{type(exc).__name__}: {exc}"[:500])
