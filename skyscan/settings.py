"""The settings of ``skyscan serve``: one object, read from ``SKYSCAN_*`` environment variables
and an optional TOML file (``--config`` or ``SKYSCAN_CONFIG``; environment wins over the file,
command-line options over both). The base, shared with skymist, is :mod:`skybase.settings`.

Tokens and the broker URL (which may hold a password) are secrets: never printed or logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from skybase.settings import ServiceSettings
from skyscan.recos.dummy_gate import GateError, check_gate_dir


class SkyscanSettings(ServiceSettings):
    """Everything ``skyscan serve`` can be told."""

    model_config = SettingsConfigDict(env_prefix="SKYSCAN_")

    host: str = Field(default="127.0.0.1", min_length=1)
    """Address the HTTP service listens on."""
    port: int = Field(default=8080, ge=0, le=65535)
    """TCP port; 0 picks a free port (printed on start)."""
    database_url: str = Field(default="sqlite:///skyscan.sqlite3", pattern=r"^(sqlite|postgresql)(\+\w+)?://")
    """SQLAlchemy URL of the scan store, e.g. postgresql+psycopg://user@host:5432/skyscan.
    Tables are created on start."""
    user_tokens: list[SecretStr] = Field(default_factory=list)
    """Bearer tokens granting SkyDriver's `user` role (launch, read, delete, rescan, find)."""
    system_tokens: list[SecretStr] = Field(default_factory=list)
    """Bearer tokens granting the `system` role (scanners: PATCH manifest, PUT result,
    POST ewms/workflow-id; also the read routes a scanner uses)."""
    max_concurrent_scans: int = Field(default=1, ge=1)
    """Scans run at once; the others wait in the backlog (priority first, then age)."""
    pool_kind: Literal["inprocess", "rabbitmq"] = "inprocess"
    """Where pixels are reconstructed: worker processes of this host, or workers fed through RabbitMQ."""
    workers: int = Field(default=2, ge=1)
    """Pixel workers of each running scan."""
    broker_url: SecretStr | None = None
    """RabbitMQ URL (amqp://user:password@host:5672/vhost); required when pool_kind is rabbitmq."""
    task_queue: str = Field(default="skyscan.pixels", pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")
    """RabbitMQ queue of the pixel tasks (pool_kind rabbitmq): its `skyscan worker --queue` must
    match; services sharing a broker but not their workers need different ones."""
    progress_interval_s: float = Field(default=60.0, gt=0)
    """Seconds between progress reports of a running scan (SkyDriver's scanner: 60)."""
    result_interval_s: float = Field(default=120.0, gt=0)
    """Seconds between partial results of a running scan (SkyDriver's scanner: 120)."""
    backlog_poll_s: float = Field(default=1.0, gt=0)
    """Seconds between two looks at the backlog for a scan to launch."""
    heartbeat_s: float = Field(default=5.0, gt=0)
    """Seconds between two heartbeats of each running scan in the store."""
    stale_after_s: float = Field(default=30.0, gt=0)
    """A running scan whose heartbeat is older than this is taken as orphaned by a dead service
    and is put back in the backlog (run again from the start)."""
    max_restarts: int = Field(default=3, ge=0)
    """A scan orphaned more than this many times is failed (FINISHED__*) instead of run again."""
    known_clusters: list[str] = Field(default_factory=lambda: ["osg", "sub-2", "local"], min_length=1)
    """Cluster names accepted in POST /scan `cluster` (SkyDriver's list by default)."""
    reco_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Options per reco algorithm passed to the scanner, e.g. {"dummy": {"delay_s": 0.01}}."""
    logs_url_template: str = Field(default="?scan_id={scan_id}", pattern=r"\{scan_id\}")
    """Where a scan's logs are, answered by GET /scan/{id}/logs and in its status ({scan_id} is
    replaced), e.g. "https://grafana.example/d/skyscan?var-scan={scan_id}". The default is the query
    naming the scan alone (skyscan's JSON log lines carry "scan_id"), as SkyDriver answers without
    its Grafana address: always a string, different for each scan."""
    run_scans: bool = True
    """Run scans in this service (the backlog starts them here). False: external scanners run
    them, as SkyDriver's do: the backlog hands queued scans out (they leave /scans/backlog) and
    a scanner takes one with POST /scan/{id}/ewms/workflow-id, then PATCHes and PUTs. skyscan then
    does not check reco_algo, nsides or predictive_scanning_threshold (the scanner does)."""
    scanner_images_dir: Path | None = None
    """Directory of skymap_scanner images named `skymap_scanner:<tag>` (as SkyDriver's CVMFS
    directory); its tags are the docker_tag values POST /scan accepts. Unset: the packaged list
    of skymap_scanner release tags."""
    min_scanner_tag: str = Field(default="4.0.0", pattern=r"^\d+\.\d+\.\d+$")
    """The oldest X.Y.Z docker_tag accepted (SkyDriver's MIN_SKYMAP_SCANNER_TAG)."""
    dummy_gate_dir: Path | None = None
    """For tests: the directory of the `dummy` reco's gate (an absolute path of an existing
    directory), given to this service's pixel workers as SKYSCAN_DUMMY_GATE_DIR. A number N written
    to its file `limit` holds each scan after N fits until N is raised or the file is removed (see
    skyscan/recos/dummy_gate.py); no other reco looks at it. Unset (the default): no gate."""
    public_api_docs: bool = False
    """Serve the API's own description, GET /openapi.json and its pages /docs (Swagger UI) and
    /redoc, to anyone. False (the default): they need a token of either role, as every route
    does (403 without one); the pages then carry the document inline."""

    @field_validator("user_tokens", "system_tokens")
    @classmethod
    def _no_empty_token(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(not token.get_secret_value() for token in value):
            raise ValueError("tokens must not be empty strings")
        return value

    @field_validator("dummy_gate_dir")
    @classmethod
    def _gate_is_a_directory(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            return check_gate_dir(value, "dummy_gate_dir")
        except GateError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _consistent(self) -> SkyscanSettings:
        if self.pool_kind == "rabbitmq" and self.broker_url is None:
            raise ValueError(
                "broker_url: required when pool_kind is 'rabbitmq' (e.g. amqp://guest:guest@127.0.0.1/)"
            )
        shared = {t.get_secret_value() for t in self.user_tokens} & {
            t.get_secret_value() for t in self.system_tokens
        }
        if shared:
            raise ValueError("user_tokens and system_tokens must differ (a token has exactly one role)")
        if self.stale_after_s <= self.heartbeat_s:
            raise ValueError(
                f"stale_after_s = {self.stale_after_s:g} is not above heartbeat_s = {self.heartbeat_s:g}: "
                "every running scan would look orphaned between two heartbeats; raise stale_after_s "
                "(several heartbeats, e.g. 6 x heartbeat_s) or lower heartbeat_s"
            )
        return self


def load_settings(config_file: Path | None = None, **overrides: Any) -> SkyscanSettings:
    """Settings from ``overrides`` (e.g. command-line options), the environment, then the TOML file
    (``config_file`` or ``SKYSCAN_CONFIG``), then defaults."""
    return SkyscanSettings.load(config_file, **overrides)
