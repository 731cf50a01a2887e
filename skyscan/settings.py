"""The settings of ``skyscan serve``: one object, read from ``SKYSCAN_*`` environment variables
and an optional TOML file (environment wins over the file, command-line options over both).

Tokens and the broker URL (which may hold a password) are secrets: never printed or logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class SkyscanSettings(BaseSettings):
    """Everything ``skyscan serve`` can be told."""

    model_config = SettingsConfigDict(
        env_prefix="SKYSCAN_", use_attribute_docstrings=True, extra="forbid", validate_default=True
    )

    #: TOML file read by :func:`load_settings` (set per call, not a setting)
    _toml_file: ClassVar[Path | None] = None

    host: str = "127.0.0.1"
    """Address the HTTP service listens on."""
    port: int = Field(default=8080, ge=0, le=65535)
    """TCP port; 0 picks a free port (printed on start)."""
    database_url: str = "sqlite:///skyscan.sqlite3"
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
    known_clusters: list[str] = Field(default_factory=lambda: ["osg", "sub-2", "local"])
    """Cluster names accepted in POST /scan `cluster` (SkyDriver's list by default)."""
    reco_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Options per reco algorithm passed to the scanner, e.g. {"dummy": {"delay_s": 0.01}}."""
    logs_url_template: str = ""
    """URL of a scan's logs shown in its status ({scan_id} is replaced); empty for none."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Least severe log level written (JSON lines on stderr)."""

    @field_validator("user_tokens", "system_tokens")
    @classmethod
    def _no_empty_token(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(not token.get_secret_value() for token in value):
            raise ValueError("tokens must not be empty strings")
        return value

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
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if cls._toml_file is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_file),)
        return sources


def load_settings(config_file: Path | None = None, **overrides: Any) -> SkyscanSettings:
    """Settings from the environment, then ``config_file`` (TOML), then defaults;
    ``overrides`` (e.g. command-line options) win over all."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"skyscan settings file not found: {config_file}")

    class _FromFile(SkyscanSettings):
        _toml_file = config_file

    return _FromFile(**overrides)
