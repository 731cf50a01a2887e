"""The daemon's metrics (prometheus-client) and their HTTP routes: ``/metrics``, ``/healthz``, ``/readyz``.

:class:`Metrics` keeps the small API the rest of the code calls, ``inc(name, n)`` and ``snapshot()``,
backed by Prometheus counters (``skymist_<name>_total``), and adds the gauges and histograms the
``metrics`` job keeps up to date from the store and the broker. Each :class:`Metrics` has its own
registry (no global state: two apps in one test process never mix their numbers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: counters that exist (at 0) from the first scrape, before anything happened
KNOWN_COUNTERS = (
    "messages_processed",
    "messages_duplicate",
    "messages_dead_letter",
    "outbox_sent",
    "outbox_retried",
    "outbox_dead",
    "heartbeats_sent",
    "heartbeats_received",
    "heartbeats_failed",
    "shifters_told",
)

#: buckets of the notice latency (alert produced -> notice acknowledged), seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
#: buckets of the scan stages, seconds
SCAN_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0)

#: ``(ok, reason)`` of a readiness probe
Readiness = Callable[[], tuple[bool, str]]


class Metrics:
    """Counters by name (thread-safe), gauges and latency histograms in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._counters: dict[str, Counter] = {}
        self._counts: dict[str, int] = {}
        for name in KNOWN_COUNTERS:
            self._counter(name)
        self.up = Gauge("skymist_up", "1 while the process runs", registry=self.registry)
        self.up.set(1)
        self.outbox_rows = Gauge(
            "skymist_outbox_rows", "outbox rows by state", ["state"], registry=self.registry
        )
        self.outbox_oldest_unsent = Gauge(
            "skymist_outbox_oldest_unsent_seconds",
            "age of the oldest pending or sending outbox row (0: none)",
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "skymist_dead_letters", "dead letters by state", ["state"], registry=self.registry
        )
        self.scans = Gauge("skymist_scans", "scans by state", ["state"], registry=self.registry)
        self.consumer_lag = Gauge(
            "skymist_consumer_lag_messages",
            "messages not yet consumed, per topic and partition",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.heartbeat_age = Gauge(
            "skymist_heartbeat_last_received_age_seconds",
            "seconds since the last heartbeat was read back (-1: never)",
            registry=self.registry,
        )
        self.notice_latency = Histogram(
            "skymist_notice_latency_seconds",
            "alert produced (Kafka timestamp of the input) -> notice acknowledged by the broker",
            ["product"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scan_duration = Histogram(
            "skymist_scan_stage_seconds",
            "scan stages: submitted -> first progress, submitted -> final",
            ["stage"],
            buckets=SCAN_BUCKETS,
            registry=self.registry,
        )

    def _counter(self, name: str) -> Counter:
        counter = self._counters.get(name)
        if counter is None:
            counter = Counter(f"skymist_{name}", f"count of {name.replace('_', ' ')}", registry=self.registry)
            self._counters[name] = counter
            self._counts[name] = 0
        return counter

    def inc(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counter(name).inc(amount)
            self._counts[name] += amount

    def snapshot(self) -> dict[str, int]:
        """The counters that have counted something, by name."""
        with self._lock:
            return {name: value for name, value in self._counts.items() if value}

    def prometheus_text(self) -> str:
        return generate_latest(self.registry).decode()


def ops_router(
    metrics: Metrics, ready: Readiness | None = None, about: dict[str, object] | None = None
) -> Any:
    """``/metrics`` (Prometheus), ``/healthz`` (the process answers, with ``about``: pid, jobs) and
    ``/readyz`` (``ready()``: store and broker reachable; 503 when not) as a FastAPI router, for the
    daemon's HTTP application (:mod:`skymist.runtime.http_app`)."""
    from fastapi import APIRouter
    from fastapi.responses import JSONResponse, Response

    router = APIRouter()

    @router.get("/metrics")
    def scrape() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/healthz")
    def alive() -> Response:
        return JSONResponse({"status": "alive", **(about or {})})

    @router.get("/readyz")
    def readiness() -> Response:  # a plain def: FastAPI runs the (blocking) probe in its thread pool
        ok, reason = ready() if ready is not None else (True, "no readiness probe")
        body = {"status": "ready" if ok else "not ready", "reason": reason}
        return JSONResponse(body, status_code=200 if ok else 503)

    return router
