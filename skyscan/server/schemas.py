"""The request bodies of the routes as pydantic models, for the OpenAPI document only.

The routes read bodies with :mod:`skyscan.server.bodies` (SkyDriver's order of checks and error
texts). Unknown fields are refused (400). ``POST /scan`` accepts SkyDriver's canonical names and
their deprecated aliases (``cluster``, ``scanner_server_memory``, ...), but not both at once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scanner_client import validation

DataSize = int | str
ManifestProjection = Literal["*"] | list[str]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LaunchScanBody(Body):
    """``POST /scan``."""

    docker_tag: str = Field(min_length=1)
    request_clusters: dict[str, int] | list[tuple[str, int]] | None = None
    cluster: dict[str, int] | list[tuple[str, int]] | None = Field(default=None, deprecated=True)
    reco_algo: str
    event_i3live_json: dict[str, Any] | str | None = None
    i3_event_id: str | None = None
    nsides: dict[str, int]
    real_or_simulated_event: Literal["real", "real_event", "sim", "simulated", "simulated_event"]
    max_pixel_reco_time: int = Field(ge=1)
    predictive_scanning_threshold: float = 1.0
    scanner_server_memory_bytes: DataSize | None = None
    scanner_server_memory: DataSize | None = Field(default=None, deprecated=True)
    worker_memory_bytes: DataSize | None = None
    worker_memory: DataSize | None = Field(default=None, deprecated=True)
    worker_disk_bytes: DataSize | None = None
    worker_disk: DataSize | None = Field(default=None, deprecated=True)
    memory: Any = Field(default=None, deprecated=True)
    debug_mode: Literal["client-logs"] | list[Literal["client-logs"]] | None = None
    classifiers: dict[str, Any] = Field(default_factory=dict)
    priority: int = 0
    scanner_server_env_from_user: dict[str, Any] | None = None
    scanner_server_env: dict[str, Any] | None = Field(default=None, deprecated=True)
    manifest_projection: ManifestProjection | None = None

    @field_validator("reco_algo")
    @classmethod
    def _algo(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reco_algo: must not be empty")
        return validation.reco_algo_from(value, validation.SKYSCAN_RECO_ALGOS)

    @field_validator("nsides")
    @classmethod
    def _nsides(cls, value: dict[str, int]) -> dict[str, int]:
        return validation.nsides_to_json(validation.nsides_from(value))

    @field_validator("predictive_scanning_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        return validation.threshold_from(value)

    @field_validator("classifiers")
    @classmethod
    def _classifiers(cls, value: dict[str, Any]) -> dict[str, Any]:
        return validation.classifiers_from(value)

    @field_validator("event_i3live_json")
    @classmethod
    def _event(cls, value: dict[str, Any] | str | None) -> dict[str, Any] | None:
        return None if value is None else validation.event_from(value)

    @model_validator(mode="after")
    def _coalesce(self) -> LaunchScanBody:
        for canonical, alias in (
            ("request_clusters", "cluster"),
            ("scanner_server_memory_bytes", "scanner_server_memory"),
            ("worker_memory_bytes", "worker_memory"),
            ("worker_disk_bytes", "worker_disk"),
            ("scanner_server_env_from_user", "scanner_server_env"),
        ):
            if getattr(self, canonical) is not None and getattr(self, alias) is not None:
                raise ValueError(f"Provide only one value for '{canonical}' (also given as '{alias}')")
        if self.memory:
            raise ValueError("argument 'memory' is deprecated -- use 'worker_memory_bytes'")
        if self.clusters is None:
            raise ValueError("'request_clusters' is a required property (or its alias 'cluster')")
        if (self.event_i3live_json is None) == (self.i3_event_id is None):
            raise ValueError("Must provide either 'event_i3live_json' or 'i3_event_id' (xor)")
        for name, n_workers in self.clusters:
            if n_workers < 1:
                raise ValueError(f"request_clusters: {name!r} needs at least 1 worker (got {n_workers})")
        env = self.scanner_server_env_from_user or self.scanner_server_env or {}
        validation.classifiers_from(env, field="scanner_server_env")
        return self

    @property
    def clusters(self) -> list[tuple[str, int]] | None:
        value = self.request_clusters if self.request_clusters is not None else self.cluster
        if value is None:
            return None
        return list(value.items()) if isinstance(value, dict) else list(value)

    def size(self, canonical: str, alias: str, default: str) -> int:
        given = getattr(self, canonical)
        given = given if given is not None else getattr(self, alias)
        return validation.size_bytes_from(given if given is not None else default, field=canonical)


class DeleteBody(Body):
    """``DELETE /scan/{id}``."""

    delete_completed_scan: bool = False
    manifest_projection: ManifestProjection | None = None


class RescanBody(Body):
    """``POST /scan/{id}/actions/rescan``."""

    abort_first: bool = False
    replace_scan: bool = False
    manifest_projection: ManifestProjection | None = None


class FindBody(Body):
    """``POST /scans/find``."""

    filter: dict[str, Any]
    include_deleted: bool = False
    manifest_projection: ManifestProjection | None = None


class PatchManifestBody(Body):
    """``PATCH /scan/{id}/manifest`` (system role): what the scanner reports."""

    progress: dict[str, Any] | None = None
    event_metadata: dict[str, Any] | None = None
    scan_metadata: dict[str, Any] | None = None


class PutResultBody(Body):
    """``PUT /scan/{id}/result`` (system role)."""

    skyscan_result: dict[str, Any]
    is_final: bool


class AddWorkersBody(Body):
    """``POST /scan/{id}/actions/add-workers``."""

    n_workers: int = Field(ge=1)
    cluster_location: str
    no_redirect: bool = False


class WorkflowIdBody(Body):
    """``POST /scan/{id}/ewms/workflow-id`` (system role)."""

    workflow_id: str = Field(min_length=1)
    ewms_address: str
