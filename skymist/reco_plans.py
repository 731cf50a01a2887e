"""Reco plans: which scans to run for each alert class, with defaults for skyscan and SkyDriver."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skybase import scan_requests
from skymist.reco_kinds import KNOWN_RECOS, RecoKind, RegionMethod

#: alert classes that have a plan; UNCLASSIFIED scans run only on request (``skymist scan``)
ALERT_CLASSES = ("GOLD", "BRONZE", "CASCADE", "UNCLASSIFIED")


class ScanPlanEntry(BaseModel):
    """One scan to run for an alert: what SkyMist asks the scanner backend for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$")]
    reco_algo: str
    nsides: dict[int, int]
    priority: Annotated[int, Field(ge=0)]
    max_pixel_reco_time_s: Annotated[int, Field(ge=1)]
    cluster: str = "local"
    workers: Annotated[int, Field(ge=1)] = 2
    docker_tag: str = "latest"
    predictive_scanning_threshold: float = 1.0
    worker_memory: str | None = None
    scanner_server_memory: str | None = None
    deadline_s: Annotated[float, Field(gt=0)] = 6 * 3600.0
    #: ``reconstruction`` or ``approximation`` (default: :data:`KNOWN_RECOS`); an approximation's
    #: products are held for approval and never called refined
    reco_kind: RecoKind | None = None
    #: threshold set of the regions (default: :data:`KNOWN_RECOS`, else ``skymap_thresholds``)
    region_method: RegionMethod | None = None

    @model_validator(mode="after")
    def _declared(self) -> ScanPlanEntry:
        kind, method = KNOWN_RECOS.get(self.reco_algo, ("approximation", None))
        if self.reco_kind is None:
            object.__setattr__(self, "reco_kind", kind)
        if self.region_method is None and method is not None:
            object.__setattr__(self, "region_method", method)
        return self

    @field_validator("reco_algo")
    @classmethod
    def _algo(cls, value: str) -> str:
        return scan_requests.reco_algo_from(value)

    @field_validator("nsides", mode="before")
    @classmethod
    def _nsides(cls, value: Any) -> dict[int, int]:
        if isinstance(value, str):  # "8:0,64:12,512:24"
            pairs = [part.split(":") for part in value.split(",") if part.strip()]
            value = [(int(n), int(e)) for n, e in pairs]
        return scan_requests.nsides_from(value)

    @field_validator("predictive_scanning_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        return scan_requests.threshold_from(value)


ScanPlans = dict[str, list[ScanPlanEntry]]

_DEFAULT_NSIDES = {8: 0, 64: 12, 512: 24}


@functools.cache
def skyscan_plans() -> ScanPlans:
    """Against ``skyscan serve``: the calibrated online-direction approximation at the default resolution."""
    realtime = ScanPlanEntry(
        name="online_gaussian",
        reco_algo="online_gaussian",
        nsides=_DEFAULT_NSIDES,
        priority=100,
        max_pixel_reco_time_s=60,
        cluster="local",
        workers=2,
        deadline_s=3600.0,
    )
    on_request = realtime.model_copy(update={"priority": 10})
    return {"GOLD": [realtime], "BRONZE": [realtime], "CASCADE": [realtime], "UNCLASSIFIED": [on_request]}


@functools.cache
def skydriver_plans() -> ScanPlans:
    """Against IceCube's SkyDriver: SplineMPE on the OSG-backed cluster, as IceCube's realtime runs."""
    realtime = ScanPlanEntry(
        name="splinempe",
        reco_algo="splinempe",
        nsides=_DEFAULT_NSIDES,
        priority=100,
        max_pixel_reco_time_s=1800,
        cluster="sub-2",
        workers=1000,
        worker_memory="8GB",
        scanner_server_memory="1GB",
        predictive_scanning_threshold=1.0,
        deadline_s=12 * 3600.0,
    )
    on_request = realtime.model_copy(update={"priority": 10})
    return {"GOLD": [realtime], "BRONZE": [realtime], "CASCADE": [realtime], "UNCLASSIFIED": [on_request]}


DEFAULT_PLANS = {"skyscan": skyscan_plans, "skydriver": skydriver_plans}


def plans_for(backend: str, configured: ScanPlans | None) -> ScanPlans:
    """The configured plans, else the backend's defaults (built once: frozen entries, read only)."""
    return configured if configured is not None else DEFAULT_PLANS[backend]()
