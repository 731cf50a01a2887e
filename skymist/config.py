"""One settings object for SkyMist: ``SKYMIST_*`` environment variables plus an optional TOML file.

Precedence (highest first): explicit overrides (CLI flags), environment variables, the TOML file
(``--config`` or ``SKYMIST_CONFIG``), the defaults below. Every setting is documented by the
docstring under it; ``skymist config`` prints them all with their current values (secrets masked).
Nested values (dicts) are given in the environment as JSON, e.g.
``SKYMIST_KAFKA_CONFIG='{"security.protocol": "SASL_SSL"}'``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from skymist.scans.plans import ScanPlanEntry

Tense = Literal["current", "test", "archival"]


class Settings(BaseSettings):
    """All of SkyMist's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="SKYMIST_",
        extra="forbid",
        use_attribute_docstrings=True,
        validate_default=True,
    )

    # --- store -------------------------------------------------------------------------------
    database_url: SecretStr = SecretStr("postgresql+psycopg://postgres@127.0.0.1:5432/skymist")
    """SQLAlchemy URL of the store. PostgreSQL (``postgresql+psycopg://user@host/db``) in
    production; a ``sqlite:///file`` URL is accepted for ``skymist demo`` only. May hold a password:
    it is never logged."""

    # --- realtime stream (Kafka) ---------------------------------------------------------------
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated ``host:port`` list of the Kafka brokers carrying the realtime stream and
    receiving the notices."""

    kafka_group_id: str = "skymist-production"
    """Consumer group id: stable per environment (production, test, ...), so a restarted daemon
    resumes where the last committed offset left off."""

    kafka_group_instance_id: str | None = None
    """Static group membership id (``group.instance.id``): a restarted daemon with the same id takes
    its partitions back at once instead of waiting for the session timeout. One per daemon host."""

    kafka_topics: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["icecube.realtime.events"])
    """Topics the daemon consumes: realtime event messages (i3live), alert envelopes and GCN JSON
    notices may share a topic; the kind is recognised from each message."""

    kafka_session_timeout_ms: int = 30000
    """Consumer ``session.timeout.ms``: how long the broker waits before taking the partitions of a
    daemon that died without leaving the group."""

    kafka_config: dict[str, str] = Field(default_factory=dict)
    """Extra librdkafka settings for both consumer and producer (security, SASL, TLS...). Values here
    are passed verbatim and never logged."""

    kafka_max_message_bytes: int = 2_000_000
    """Largest accepted realtime message in bytes; larger ones go to the dead-letter table."""

    kafka_fetch_wait_max_ms: int = 10
    """Consumer ``fetch.wait.max.ms``: how long the broker may hold a fetch when no message is there.
    Low, so that an alert is picked up at once; the cost is a few idle fetches per second."""

    kafka_poll_batch: int = 100
    """How many messages the consumer takes from the broker in one poll; they are recorded in one
    store transaction."""

    gcn_client_id: str | None = None
    """GCN Kafka OIDC client id. When set, notices are produced to GCN's brokers through gcn-kafka
    (``gcn_domain``) instead of ``kafka_bootstrap_servers``."""

    gcn_client_secret: SecretStr | None = None
    """GCN Kafka OIDC client secret (with ``gcn_client_id``)."""

    gcn_domain: Literal["gcn.nasa.gov", "test.gcn.nasa.gov", "dev.gcn.nasa.gov"] = "test.gcn.nasa.gov"
    """GCN Kafka domain: ``gcn.nasa.gov`` (production) or ``test.gcn.nasa.gov``."""

    # --- products -------------------------------------------------------------------------------
    alert_tense: Tense = "current"
    """``alert_tense`` of published notices: ``current`` for real alerts, ``test`` for test streams,
    ``archival`` for replays of old events."""

    notice_topic: str = "gcn.notices.icecube.test.gold_bronze_track_alerts"
    """Kafka topic of the JSON notices (GCN's ``single_neutrino_alerts`` schema). Production:
    ``gcn.notices.icecube.gold_bronze_track_alerts``."""

    voevent_topic: str = "gcn.classic.voevent.icecube.test"
    """Kafka topic of the VOEvent 2.0 XML notices."""

    voevent_role: Literal["observation", "test"] = "test"
    """VOEvent ``role`` attribute: ``observation`` for real alerts, ``test`` otherwise."""

    err90_floor_deg: float = 0.5
    """Floor of the prompt 90% error radius (deg) when an alert gives no radius and it is derived
    from the online reconstruction's uncertainties."""

    err50_floor_deg: float = 0.2
    """Floor of the prompt 50% error radius (deg), as ``err90_floor_deg``."""

    supported_event_versions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["2021a", "2023a", "2024a"]
    )
    """``value.version`` strings of realtime event messages the parser accepts."""

    # --- scans (the scanner backend: SkyDriver or skyscan) ---------------------------------------
    scans_enabled: bool = True
    """Plan and run scans for every classified alert (and unclassified events on request)."""

    scanner_backend: Literal["skyscan", "skydriver"] = "skyscan"
    """Which backend ``scanner_url`` is: it chooses the default reco plans (``scan_plans``)."""

    scanner_url: str = "http://127.0.0.1:8080"
    """Base URL of the SkyDriver REST API (``https://skydriver.icecube.aq``) or of ``skyscan serve``."""

    scanner_token: SecretStr | None = None
    """Static bearer token for the scanner backend (or use the OAuth2 client-credentials settings)."""

    scanner_oauth_token_url: str | None = None
    """OAuth2 token endpoint (Keycloak) for a client-credentials token that refreshes itself."""

    scanner_oauth_client_id: str | None = None
    """OAuth2 client id (with ``scanner_oauth_token_url``)."""

    scanner_oauth_client_secret: SecretStr | None = None
    """OAuth2 client secret (with ``scanner_oauth_token_url``)."""

    scanner_timeout_s: float = 30.0
    """Read timeout of one call to the scanner backend."""

    scan_plans: dict[str, list[ScanPlanEntry]] | None = None
    """Reco plans per alert class (GOLD, BRONZE, CASCADE, UNCLASSIFIED): a list of scans, each with
    ``name``, ``reco_algo``, ``nsides`` ({8: 0, 64: 12, 512: 24}), ``priority`` (>= 100 realtime),
    ``max_pixel_reco_time_s``, ``cluster``, ``workers``, memory and ``deadline_s``. None: the
    defaults of ``scanner_backend``."""

    scan_tick_s: float = 1.0
    """How often the scan tracker looks for scans that are due."""

    scan_poll_realtime_s: float = 10.0
    """How often a realtime scan (priority >= 100) is polled."""

    scan_poll_s: float = 60.0
    """How often any other scan is polled."""

    scan_stuck_after_s: float = 900.0
    """A scan whose progress has not changed for this long is stuck: it is rescanned (the backend's
    own failures often go unreported)."""

    scan_max_rescans: int = 2
    """Rescans of one scan (stuck, aborted or finished without a result) before it fails."""

    scan_backoff_max_s: float = 300.0
    """Longest wait between two calls to an unreachable scanner backend."""

    scan_lease_s: float = 120.0
    """How long a tracker owns a scan it is working on (another daemon takes over after that)."""

    handoff_max_attempts: int = 5
    """Attempts of the skymap step on one final scan result before it is given up (shifters are
    told; ``skymist scans localize SCAN`` runs it again after a fix)."""

    slack_max_per_minute: int = 60
    """Slack messages sent per minute at most, all daemons together (Slack allows about one per
    second per channel); the rest wait their turn, and other sinks are never held up by them."""

    # --- refined products (skymap, Rev 1, Circular) ----------------------------------------------
    skymap_thresholds: Literal["wilks", "calibrated", "hpd"] = "calibrated"
    """Threshold set of the 50%/90% regions of refined localizations: ``wilks`` (2 delta-llh 1.39 /
    4.61), ``calibrated`` (22.2 / 64.2, IceCat-1's, includes systematics) or ``hpd`` (probability)."""

    public_base_url: str = "https://roc.example.org/public/alerts"
    """Public URL under which the skymap files are published (``healpix_url`` of the Rev 1 notice,
    the picture in Slack). Files are written under ``data_dir/skymaps/<name>/``."""

    rev1_requires_approval: bool = False
    """Hold the Rev 1 notice until a human approves the Circular (otherwise it goes out at once)."""

    circulars_enabled: bool = False
    """Submit approved Circulars to the GCN Circulars API. Off: the approved text is written as a
    ready-to-send file under ``data_dir/circulars/``."""

    circulars_api_url: str = "https://gcn.nasa.gov/api/circulars"
    """The GCN Circulars API endpoint (POST ``{"subject", "body"}``)."""

    circulars_token: SecretStr | None = None
    """Bearer token for the GCN Circulars API (scope ``gcn.nasa.gov/circular-submitter``)."""

    circular_contact: str = "roc@icecube.wisc.edu"
    """Contact address named at the end of every Circular."""

    # --- Slack ---------------------------------------------------------------------------------
    slack_mode: Literal["webhook", "web_api", "console", "off"] = "console"
    """How shifters are told: ``webhook`` (incoming webhook URL), ``web_api`` (chat.postMessage with a
    bot token: lets the dispatcher verify an in-doubt message after a crash, so none is doubled),
    ``console`` (print to standard output) or ``off``."""

    slack_webhook_url: SecretStr | None = None
    """Incoming-webhook URL (it embeds a secret: never logged)."""

    slack_api_url: str = "https://slack.com/api"
    """Base URL of Slack's Web API (``web_api`` mode)."""

    slack_bot_token: SecretStr | None = None
    """Bot token for ``web_api`` mode (``chat:write`` and ``channels:history`` scopes)."""

    slack_channel: str | None = None
    """Channel id for ``web_api`` mode."""

    # --- outbox dispatcher ------------------------------------------------------------------------
    outbox_max_attempts: int = 8
    """Attempts before an outbox row is given up (state ``dead``; shifters are told)."""

    outbox_backoff_base_s: float = 1.0
    """First retry delay in seconds; doubled per attempt, with +/-50% jitter."""

    outbox_backoff_max_s: float = 300.0
    """Upper bound of one retry delay in seconds."""

    outbox_lease_s: float = 30.0
    """How long a dispatcher owns a row it is sending; a row still ``sending`` after that is in
    doubt (its daemon died) and is verified or resent by another dispatcher."""

    outbox_batch: int = 200
    """Rows a dispatcher claims at once."""

    outbox_poll_interval_s: float = 0.5
    """How often an idle dispatcher looks for due rows (it is also woken at once by new rows)."""

    sink_timeout_s: float = 10.0
    """Timeout of one send (Kafka delivery acknowledgement, HTTP request)."""

    # --- daemon ------------------------------------------------------------------------------------
    log_level: str = "INFO"
    """Log level: DEBUG, INFO, WARNING or ERROR. Logs are JSON lines on standard error."""

    data_dir: Path = Path("skymist-data")
    """Folder for files the daemon writes (products, exports)."""

    @field_validator("kafka_topics", "supported_event_versions", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("SKYMIST_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build the settings: ``overrides`` > environment > TOML file > defaults.

    A ``config_file`` that does not exist is an error naming the path.
    """
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise FileNotFoundError(f"settings file {str(path)!r} does not exist")
        previous = os.environ.get("SKYMIST_CONFIG")
        os.environ["SKYMIST_CONFIG"] = str(path)
        try:
            return Settings(**{k: v for k, v in overrides.items() if v is not None})
        finally:
            if previous is None:
                os.environ.pop("SKYMIST_CONFIG", None)
            else:
                os.environ["SKYMIST_CONFIG"] = previous
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def describe_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, current value with secrets masked, docstring) for every setting."""
    rows = []
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        shown = "********" if isinstance(value, SecretStr) else repr(value)
        if name == "database_url":
            from skymist.store.db import safe_url

            shown = repr(safe_url(settings.database_url.get_secret_value()))
        if name == "kafka_config" and value:
            shown = "{" + ", ".join(f"{k!r}: '********'" for k in value) + "}"
        rows.append((name, shown, " ".join((info.description or "").split())))
    return rows
