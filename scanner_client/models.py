"""Typed models of the SkyDriver v2.4.x wire format.

Request models refuse unknown fields and check every argument before anything is sent.
Response models keep unknown keys (servers add fields over time) and validate only what
the client relies on.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scanner_client.skyscan_result import SkyscanResult
from skybase import scan_requests
from skybase.json_types import JSONObject, JSONValue
from skybase.scan_requests import DebugMode, RealOrSimulated

#: the keys of a manifest, in the order SkyDriver writes them
MANIFEST_KEYS: Final = (
    "scan_id",
    "timestamp",
    "is_deleted",
    "scanner_server_args",
    "ewms_workflow_id",
    "ewms_address",
    "ewms_task",
    "priority",
    "classifiers",
    "i3_event_id",
    "event_i3live_json_dict",
    "event_i3live_json_dict__hash",
    "event_metadata",
    "scan_metadata",
    "progress",
    "replaced_by_scan_id",
    "last_updated",
)
#: ``ewms_workflow_id`` of a scan that has not been handed to a workflow yet
NOT_YET_REQUESTED: Final = "not-yet-requested"


class ScanState(enum.StrEnum):
    """``scan_state`` values of ``GET /scan/{id}/status``."""

    PENDING__PRESTARTUP = "PENDING__PRESTARTUP"
    PENDING__WAITING_ON_SCANNER_SERVER_STARTUP = "PENDING__WAITING_ON_SCANNER_SERVER_STARTUP"
    IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO = "IN_PROGRESS__WAITING_ON_FIRST_PIXEL_RECO"
    IN_PROGRESS__PARTIAL_RESULT_GENERATED = "IN_PROGRESS__PARTIAL_RESULT_GENERATED"
    ABORTED__PRESTARTUP = "ABORTED__PRESTARTUP"
    ABORTED__WAITING_ON_SCANNER_SERVER_STARTUP = "ABORTED__WAITING_ON_SCANNER_SERVER_STARTUP"
    ABORTED__WAITING_ON_FIRST_PIXEL_RECO = "ABORTED__WAITING_ON_FIRST_PIXEL_RECO"
    ABORTED__PARTIAL_RESULT_GENERATED = "ABORTED__PARTIAL_RESULT_GENERATED"
    FINISHED__PRESTARTUP = "FINISHED__PRESTARTUP"
    FINISHED__WAITING_ON_SCANNER_SERVER_STARTUP = "FINISHED__WAITING_ON_SCANNER_SERVER_STARTUP"
    FINISHED__WAITING_ON_FIRST_PIXEL_RECO = "FINISHED__WAITING_ON_FIRST_PIXEL_RECO"
    FINISHED__PARTIAL_RESULT_GENERATED = "FINISHED__PARTIAL_RESULT_GENERATED"
    SCAN_HAS_FINAL_RESULT = "SCAN_HAS_FINAL_RESULT"

    @property
    def suffix(self) -> str:
        """The progress part (``PRESTARTUP``, ``PARTIAL_RESULT_GENERATED``, ...)."""
        return self.value.split("__", 1)[-1]

    @property
    def stopped(self) -> bool:
        """The workflow ended (final result, aborted or finished without a result)."""
        return self is ScanState.SCAN_HAS_FINAL_RESULT or self.value.startswith(("ABORTED__", "FINISHED__"))


class WireModel(BaseModel):
    """A response object: unknown keys are kept, nothing is mutable."""

    model_config = ConfigDict(extra="allow", frozen=True)


class EventMetadata(WireModel):
    run_id: int
    event_id: int
    event_type: str | None
    mjd: float
    is_real_event: bool


class ProcessingStats(WireModel):
    start: JSONObject
    runtime: JSONObject
    rate: JSONObject = Field(default_factory=dict)
    end: str = ""
    finished: bool = False
    predictions: JSONObject = Field(default_factory=dict)


class Progress(WireModel):
    """``manifest.progress`` as the scanner reports it."""

    summary: str
    epilogue: str
    tallies: JSONObject
    processing_stats: ProcessingStats
    predictive_scanning_threshold: float
    last_updated: str
    start: int | None = None
    end: int | None = None


class Manifest(WireModel):
    """A scan's manifest (``POST /scan``, ``GET /scan/{id}/manifest``, ``/scans/find``...)."""

    scan_id: str
    timestamp: float
    is_deleted: bool
    scanner_server_args: str
    ewms_workflow_id: str | None = None
    ewms_address: str | None = None
    ewms_task: JSONValue = None
    priority: int = 0
    classifiers: JSONObject = Field(default_factory=dict)
    i3_event_id: str | None = None
    event_i3live_json_dict: JSONValue = None
    event_i3live_json_dict__hash: JSONValue = None
    event_metadata: EventMetadata | None = None
    scan_metadata: JSONObject | None = None
    progress: Progress | None = None
    replaced_by_scan_id: str | None = None
    last_updated: float | None = None


class ScanResult(WireModel):
    """``GET /scan/{id}/result`` when a result exists."""

    scan_id: str
    skyscan_result: SkyscanResult
    is_final: bool


class ScanStatus(WireModel):
    """``GET /scan/{id}/status``."""

    scan_state: str
    is_deleted: bool
    ewms_deactivated: str | None = None
    scan_complete: bool
    scanner_server_logs: JSONObject = Field(default_factory=dict)
    ewms_workforce: JSONObject = Field(default_factory=dict)

    @property
    def state(self) -> ScanState | None:
        """The state as an enum member, or None for a state this client does not know."""
        try:
            return ScanState(self.scan_state)
        except ValueError:
            return None


class ScanWithResult(WireModel):
    """``GET /scan/{id}`` and ``DELETE /scan/{id}``: the manifest and the result (None if none)."""

    manifest: Manifest
    result: ScanResult | None

    @field_validator("result", mode="before")
    @classmethod
    def _empty_is_none(cls, value: JSONValue) -> JSONValue:
        return None if value == {} else value


class ScanRequestRecord(WireModel):
    """``GET /scan-request/{id}``: the request as stored, with the ids of its rescans."""

    scan_id: str
    rescan_ids: list[str] = Field(default_factory=list)
    reco_algo: str
    nsides: dict[str, int]
    real_or_simulated_event: str
    predictive_scanning_threshold: float = 1.0
    classifiers: JSONObject = Field(default_factory=dict)
    max_pixel_reco_time: int | None = None
    priority: int = 0
    i3_event_id: str | None = None


class LaunchScanRequest(BaseModel):
    """The body of ``POST /scan``. Unknown fields are impossible; every rule SkyDriver leaves to
    the scanner (nsides order, first extension 0, known ``reco_algo``, threshold range) is
    checked here, so a bad request fails at construction naming the field and the value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    docker_tag: str = "latest"
    cluster: dict[str, int]
    """``{cluster name: number of workers}``, e.g. ``{"osg": 1000}``."""
    reco_algo: str
    event_i3live_json: JSONObject | None = None
    """The realtime (i3live) message, a JSON object or a string holding one."""
    i3_event_id: str | None = None
    """Instead of ``event_i3live_json``: the id of an event the server already stores."""
    nsides: dict[int, int]
    """``{nside: pixel extension}`` in scan order, e.g. ``{8: 0, 64: 12, 512: 24}``."""
    real_or_simulated_event: RealOrSimulated = "real"
    max_pixel_reco_time: int = Field(ge=1)
    predictive_scanning_threshold: float = 1.0
    priority: int = 0
    """Higher runs sooner; >= 100 is reserved for realtime alerts."""
    classifiers: dict[str, str | bool | int | float | None] = Field(default_factory=dict)
    scanner_server_memory: int | str | None = None
    worker_memory: int | str | None = None
    worker_disk: int | str | None = None
    debug_mode: tuple[DebugMode, ...] = ()
    scanner_server_env: dict[str, str | bool | int | float | None] = Field(default_factory=dict)

    @field_validator("reco_algo")
    @classmethod
    def _known_algo(cls, value: str) -> str:
        return scan_requests.reco_algo_from(value)

    @field_validator("event_i3live_json", mode="before")
    @classmethod
    def _event(cls, value: JSONValue) -> JSONValue:
        return None if value is None else scan_requests.event_from(value)

    @field_validator("nsides", mode="before")
    @classmethod
    def _nsides(cls, value: JSONValue) -> dict[int, int]:
        if not isinstance(value, Mapping | list | tuple):
            raise ValueError(f"nsides: expected a mapping {{nside: extension}}, got {value!r}")
        return scan_requests.nsides_from(value)

    @field_validator("predictive_scanning_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        return scan_requests.threshold_from(value)

    @field_validator("classifiers")
    @classmethod
    def _classifiers(cls, value: JSONObject) -> JSONObject:
        return scan_requests.classifiers_from(value)

    @field_validator("scanner_server_env")
    @classmethod
    def _env(cls, value: JSONObject) -> JSONObject:
        return scan_requests.classifiers_from(value, field="scanner_server_env")

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("cluster: name at least one cluster, e.g. {'osg': 100}")
        for name, n_workers in value.items():
            if n_workers < 1:
                raise ValueError(f"cluster[{name!r}]: number of workers must be >= 1 (got {n_workers})")
        return value

    @model_validator(mode="after")
    def _checks(self) -> LaunchScanRequest:
        if (self.event_i3live_json is None) == (self.i3_event_id is None):
            raise ValueError("give exactly one of event_i3live_json and i3_event_id")
        for name in ("scanner_server_memory", "worker_memory", "worker_disk"):
            size = getattr(self, name)
            if size is not None:
                scan_requests.size_bytes_from(size, field=name)
        return self

    def to_body(self) -> JSONObject:
        """The JSON body, with only the optional fields that were set."""
        body: JSONObject = {
            "docker_tag": self.docker_tag,
            "cluster": dict(self.cluster),
            "reco_algo": self.reco_algo,
        }
        if self.event_i3live_json is not None:
            body["event_i3live_json"] = self.event_i3live_json
        else:
            body["i3_event_id"] = self.i3_event_id
        body["nsides"] = scan_requests.nsides_to_json(self.nsides)
        body["real_or_simulated_event"] = self.real_or_simulated_event
        body["max_pixel_reco_time"] = self.max_pixel_reco_time
        body["predictive_scanning_threshold"] = self.predictive_scanning_threshold
        body["priority"] = self.priority
        body["classifiers"] = dict(self.classifiers)
        for name in ("scanner_server_memory", "worker_memory", "worker_disk"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.debug_mode:
            body["debug_mode"] = list(self.debug_mode)
        if self.scanner_server_env:
            body["scanner_server_env"] = dict(self.scanner_server_env)
        return body

    def with_classifier(self, key: str, value: str) -> LaunchScanRequest:
        """A copy with one more classifier, checked against the classifier rules."""
        classifiers = scan_requests.classifiers_from({**self.classifiers, key: value})
        return self.model_copy(update={"classifiers": classifiers})
