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
import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from skybase.settings import ServiceSettings
from skymist.reco_plans import ScanPlanEntry

Tense = Literal["current", "test", "archival"]

#: the SQLAlchemy backends the store runs on
STORE_BACKENDS = ("postgresql", "sqlite")

#: a comma-separated ``host:port`` list of Kafka brokers
BROKER_LIST = r"^[^\s,]+:\d{1,5}(\s*,\s*[^\s,]+:\d{1,5})*$"
BROKERS_IN_WORDS = "a comma-separated list of HOST:PORT, e.g. kafka1:9092,kafka2:9092"

#: a Kafka topic name (Kafka's own rule: letters, digits, ``.``, ``_``, ``-``; at most 249)
TopicName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9._-]{1,249}$",
        json_schema_extra={"allowed": "a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"},
    ),
]

#: the address of an HTTP API
HttpAddress = Annotated[
    str,
    Field(pattern=r"^https?://[^\s/?#]+\S*$", json_schema_extra={"allowed": "an http:// or https:// URL"}),
]

#: where published files are found: on the web, or (the demo) in a local folder
PublicAddress = Annotated[
    str,
    Field(
        pattern=r"^(https?://[^\s/?#]+|file://)\S*$",
        json_schema_extra={"allowed": "an http://, https:// or file:// URL"},
    ),
]


def masked_url(text: str) -> str:
    """A URL as it may be printed: the password between ``user:`` and ``@`` masked."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1********@", text)


ConsoleRole = Literal["shifter", "observer"]


class ConsoleUser(BaseModel):
    """A local account of the web console (``console_users``)."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")
    """Login name, recorded in the audit log for every action."""

    role: ConsoleRole = "observer"
    """``shifter`` (sees and acts) or ``observer`` (sees only)."""

    password_hash: str = Field(pattern=r"^(\$argon2id\$|scrypt\$|pbkdf2_sha256\$)")
    """The password's hash as ``skymist console --hash-password`` prints it (argon2id, salted); older
    scrypt and PBKDF2 hashes still log in, and are re-hashed with argon2 (in the store) at login."""


class Settings(ServiceSettings):
    """All of SkyMist's configuration."""

    model_config = SettingsConfigDict(env_prefix="SKYMIST_")

    # --- store -------------------------------------------------------------------------------
    database_url: SecretStr = SecretStr("postgresql+psycopg://postgres@127.0.0.1:5432/skymist")
    """SQLAlchemy URL of the store. PostgreSQL (``postgresql+psycopg://user@host/db``) in
    production; a ``sqlite:///file`` URL is accepted for ``skymist demo`` only. May hold a password:
    it is never logged."""

    store_retry_max_s: float = Field(default=2.0, gt=0, le=60)
    """Longest wait, in seconds, between two tries of work the store could not take (the consumer's
    batch, a dispatcher's cycle): the waits grow from 0.5 s up to this, so the first rows after an
    outage are written within about this long of the store taking connections again."""

    # --- realtime stream (Kafka) ---------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", pattern=BROKER_LIST, json_schema_extra={"allowed": BROKERS_IN_WORDS}
    )
    """Comma-separated ``host:port`` list of the Kafka brokers carrying the realtime stream and
    receiving the notices (unless ``notice_bootstrap_servers`` names others)."""

    notice_bootstrap_servers: str | None = Field(
        default=None, pattern=BROKER_LIST, json_schema_extra={"allowed": BROKERS_IN_WORDS}
    )
    """Comma-separated ``host:port`` list of the Kafka brokers receiving the notices, when they are
    not the realtime stream's (a notice cluster of your own, a local mirror of GCN's). Unset: the
    notices go to ``kafka_bootstrap_servers``. Ignored with ``gcn_client_id`` (GCN's brokers)."""

    kafka_group_id: str = Field(default="skymist-production", min_length=1, max_length=255)
    """Consumer group id: stable per environment (production, test, ...), so a restarted daemon
    resumes where the last committed offset left off."""

    kafka_group_instance_id: str | None = Field(default=None, min_length=1, max_length=255)
    """Static group membership id (``group.instance.id``): a restarted daemon with the same id takes
    its partitions back at once instead of waiting for the session timeout. One per daemon host."""

    kafka_topics: Annotated[list[TopicName], NoDecode] = Field(
        default_factory=lambda: ["icecube.realtime.events"], min_length=1
    )
    """Topics the daemon consumes: realtime event messages (i3live), alert envelopes and GCN JSON
    notices may share a topic; the kind is recognised from each message."""

    kafka_session_timeout_ms: int = Field(default=30000, ge=1, le=3_600_000)
    """Consumer ``session.timeout.ms``: how long the broker waits before taking the partitions of a
    daemon that died without leaving the group."""

    kafka_config: dict[str, str] = Field(default_factory=dict)
    """Extra librdkafka settings for both consumer and producer (security, SASL, TLS...). Values here
    are passed verbatim and never logged."""

    kafka_max_message_bytes: int = Field(default=2_000_000, ge=1, le=1_000_000_000)
    """Largest accepted realtime message in bytes; larger ones go to the dead-letter table."""

    kafka_fetch_wait_max_ms: int = Field(default=10, ge=0, le=300_000)
    """Consumer ``fetch.wait.max.ms``: how long the broker may hold a fetch when no message is there.
    Low, so that an alert is picked up at once; the cost is a few idle fetches per second."""

    kafka_poll_batch: int = Field(default=100, ge=1, le=1_000_000)
    """How many messages the consumer takes from the broker in one poll; they are recorded in one
    store transaction."""

    gcn_client_id: str | None = Field(default=None, min_length=1)
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

    notice_topic: TopicName = "gcn.notices.icecube.test.gold_bronze_track_alerts"
    """Kafka topic of the JSON notices (GCN's ``single_neutrino_alerts`` schema). Production:
    ``gcn.notices.icecube.gold_bronze_track_alerts``."""

    voevent_topic: TopicName = "gcn.classic.voevent.icecube.test"
    """Kafka topic of the VOEvent 2.0 XML notices."""

    voevent_role: Literal["observation", "test"] | None = None
    """Ignored (kept so existing configuration files still load): the VOEvent ``role`` follows
    ``alert_tense`` (``observation`` for ``current`` and ``archival``, ``test`` otherwise), so a
    VOEvent never says ``test`` next to a JSON notice saying ``current``."""

    err90_floor_deg: float = Field(default=0.5133, gt=0, le=180)
    """Floor of the prompt 90% error radius (deg) when an alert gives no radius and it is derived
    from the online reconstruction's uncertainties (GCN's floor: 30.80 arcmin)."""

    err50_floor_deg: float = Field(default=0.2, gt=0, le=180)
    """Floor of the prompt 50% error radius (deg), as ``err90_floor_deg`` (GCN's floor: 12.00 arcmin)."""

    supported_event_versions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["2021a", "2023a", "2024a"], min_length=1
    )
    """``value.version`` strings of realtime event messages the parser accepts."""

    # --- scans (the scanner backend: SkyDriver or skyscan) ---------------------------------------
    scans_enabled: bool = True
    """Plan and run scans for every classified alert (and unclassified events on request)."""

    scanner_backend: Literal["skyscan", "skydriver"] = "skyscan"
    """Which backend ``scanner_url`` is: it chooses the default reco plans (``scan_plans``)."""

    scanner_url: HttpAddress = "http://127.0.0.1:8080"
    """Base URL of the SkyDriver REST API (``https://skydriver.icecube.aq``) or of ``skyscan serve``."""

    scanner_token: SecretStr | None = None
    """Static bearer token for the scanner backend (or use the OAuth2 client-credentials settings)."""

    scanner_oauth_token_url: HttpAddress | None = None
    """OAuth2 token endpoint (Keycloak) for a client-credentials token that refreshes itself."""

    scanner_oauth_client_id: str | None = Field(default=None, min_length=1)
    """OAuth2 client id (with ``scanner_oauth_token_url``)."""

    scanner_oauth_client_secret: SecretStr | None = None
    """OAuth2 client secret (with ``scanner_oauth_token_url``)."""

    scanner_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    """Read timeout of one call to the scanner backend."""

    scan_plans: dict[str, list[ScanPlanEntry]] | None = None
    """Reco plans per alert class (GOLD, BRONZE, CASCADE, UNCLASSIFIED): a list of scans, each with
    ``name``, ``reco_algo``, ``nsides`` ({8: 0, 64: 12, 512: 24}), ``priority`` (>= 100 realtime),
    ``max_pixel_reco_time_s``, ``cluster``, ``workers``, memory and ``deadline_s``. None: the
    defaults of ``scanner_backend``."""

    scan_tick_s: float = Field(default=1.0, gt=0, le=3600)
    """How often the scan tracker looks for scans that are due."""

    scan_poll_realtime_s: float = Field(default=10.0, gt=0, le=86400)
    """How often a realtime scan (priority >= 100) is polled."""

    scan_poll_s: float = Field(default=60.0, gt=0, le=86400)
    """How often any other scan is polled."""

    scan_stuck_after_s: float = Field(default=900.0, gt=0)
    """A scan whose progress has not changed for this long is stuck: it is rescanned (the backend's
    own failures often go unreported)."""

    scan_max_rescans: int = Field(default=2, ge=0, le=100)
    """Rescans of one scan (stuck, aborted or finished without a result) before it fails."""

    scan_backoff_max_s: float = Field(default=300.0, gt=0, le=86400)
    """Longest wait between two calls to an unreachable scanner backend."""

    scan_lease_s: float = Field(default=120.0, gt=0)
    """How long a tracker owns a scan it is working on (another daemon takes over after that)."""

    handoff_max_attempts: int = Field(default=5, ge=1, le=1000)
    """Attempts of the skymap step on one final scan result before it is given up (shifters are
    told; ``skymist scans localize SCAN`` runs it again after a fix)."""

    slack_max_per_minute: int = Field(default=60, ge=1)
    """Slack messages sent per minute at most, all daemons together (Slack allows about one per
    second per channel); the rest wait their turn, and other sinks are never held up by them."""

    slack_operational_max_per_minute: int = Field(default=10, ge=1)
    """Of ``slack_max_per_minute``, how many may be operational messages (dead letters, rows given
    up, input-stream and health warnings, their digests). Alert, scan, Circular and retraction
    messages are sent first and never wait behind operational ones."""

    slack_digest_window_s: int = Field(default=600, ge=1)
    """Dead letters, outbox rows given up and input-stream warnings are told at most once per this
    many seconds per kind: the first of a quiet window at once, the rest of a flood as one digest
    (count, top reasons, where to look) in the next window."""

    # --- refined products (skymap, Rev 1, Circular) ----------------------------------------------
    skymap_thresholds: Literal["wilks", "calibrated", "hpd"] = "calibrated"
    """Threshold set of the 50%/90% regions of refined localizations: ``wilks`` (2 delta-llh 1.39 /
    4.61), ``calibrated`` (22.2 / 64.2, IceCat-1's, includes systematics) or ``hpd`` (probability)."""

    public_base_url: PublicAddress = "https://roc.example.org/public/alerts"
    """Public URL under which the skymap files are published (``healpix_url`` of the Rev 1 notice,
    the picture in Slack). Files are written under ``data_dir/skymaps/<name>/``."""

    rev1_requires_approval: bool = False
    """Hold the Rev 1 notice until a human approves the Circular (otherwise it goes out at once)."""

    circulars_enabled: bool = False
    """Submit approved Circulars to the GCN Circulars API. Off: the approved text is written as a
    ready-to-send file under ``data_dir/circulars/``."""

    circulars_api_url: HttpAddress = "https://gcn.nasa.gov/api/circulars"
    """The GCN Circulars API endpoint (POST ``{"subject", "body"}``)."""

    circulars_token: SecretStr | None = None
    """Bearer token for the GCN Circulars API (scope ``gcn.nasa.gov/circular-submitter``)."""

    circular_contact: str = Field(default="roc@icecube.wisc.edu", min_length=3, pattern=r"^\S+@\S+$")
    """Contact address named at the end of every Circular."""

    gamma_catalogue_path: Path | None = None
    """Table of gamma-ray sources whose sources inside the 90% region the track Circular lists (or says
    there are none and names the nearest): a FITS file in Fermi-LAT 4FGL's column layout (``Source_Name``,
    ``RAJ2000``, ``DEJ2000``; e.g. ``gll_psc_v35.fit``) or a compact table written by ``skymist catalogue
    gamma refresh``. None: the 4FGL-DR4 table shipped with SkyMist."""

    gamma_catalogue_name: str = Field(default="Fermi 4FGL-DR4", min_length=1)
    """The catalogue's name as the Circular writes it."""

    # --- Slack ---------------------------------------------------------------------------------
    slack_mode: Literal["webhook", "web_api", "console", "off"] = "console"
    """How shifters are told: ``webhook`` (incoming webhook URL), ``web_api`` (chat.postMessage with a
    bot token: lets the dispatcher verify an in-doubt message after a crash, so none is doubled),
    ``console`` (print to standard output) or ``off``."""

    slack_webhook_url: SecretStr | None = None
    """Incoming-webhook URL (it embeds a secret: never logged)."""

    slack_api_url: HttpAddress = "https://slack.com/api"
    """Base URL of Slack's Web API (``web_api`` mode)."""

    slack_bot_token: SecretStr | None = None
    """Bot token for ``web_api`` mode (``chat:write`` and ``channels:history`` scopes)."""

    slack_channel: str | None = Field(default=None, min_length=1)
    """Channel id for ``web_api`` mode."""

    # --- outbox dispatcher ------------------------------------------------------------------------
    outbox_max_attempts: int = Field(default=8, ge=1, le=1000)
    """Attempts before an outbox row is given up (state ``dead``; shifters are told)."""

    outbox_backoff_base_s: float = Field(default=1.0, gt=0)
    """First retry delay in seconds; doubled per attempt, with +/-50% jitter."""

    outbox_backoff_max_s: float = Field(default=300.0, gt=0)
    """Upper bound of one retry delay in seconds."""

    outbox_lease_s: float = Field(default=30.0, gt=0)
    """How long a dispatcher owns a row it is sending; a row still ``sending`` after that is in
    doubt (its daemon died) and is verified or resent by another dispatcher."""

    outbox_batch: int = Field(default=200, ge=1, le=100_000)
    """Rows a dispatcher claims at once."""

    outbox_poll_interval_s: float = Field(default=0.5, gt=0, le=3600)
    """How often an idle dispatcher looks for due rows (it is also woken at once by new rows)."""

    sink_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    """Timeout of one send (Kafka delivery acknowledgement, HTTP request)."""

    # --- daemon ------------------------------------------------------------------------------------
    data_dir: Path = Path("skymist-data")
    """Folder for files the daemon writes (products, exports)."""

    metrics_host: str = Field(default="127.0.0.1", min_length=1)
    """Address the daemon's one HTTP port (``http_port`` or ``skymist run --http-port``) listens on;
    ``0.0.0.0`` in a container."""

    http_port: int | None = Field(default=None, ge=1, le=65535)
    """The daemon's one HTTP port (``skymist run --http-port`` overrides it): ``/metrics``,
    ``/healthz``, ``/readyz``, the console, the cone search (``/scs``) and the catalogue pages
    (``/catalogue/``), each switched by its setting. Unset: when the console runs, the daemon serves
    all of them on ``console_host:console_port``; else it opens no port."""

    http_metrics_enabled: bool = True
    """Serve ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz`` on the daemon's HTTP port."""

    http_cone_search_enabled: bool = True
    """Serve the IVOA Simple Cone Search (``/scs?RA=&DEC=&SR=``) on the daemon's HTTP port."""

    http_catalogue_enabled: bool = True
    """Serve the HTML catalogue and the archive records (the folder ``archive_dir``) under
    ``/catalogue/`` on the daemon's HTTP port."""

    metrics_sample_s: float = Field(default=5.0, gt=0, le=3600)
    """How often the gauges (outbox by state, dead letters, scans by state, consumer lag) and the
    latency histograms are brought up to date from the store and the broker."""

    readyz_timeout_s: float = Field(default=3.0, gt=0, le=300)
    """Longest wait of ``/readyz`` (and of ``skymist check``) for the store or the broker to answer."""

    sentry_dsn: SecretStr | None = None
    """Sentry DSN (``https://PUBLIC_KEY@HOST/PROJECT_ID``) of a Sentry or compatible service: every
    error of the daemon (``skymist run``) goes there as an event, with its traceback and the log lines
    before it. Unset (the default): nothing is sent. A secret: never logged."""

    sentry_environment: str = Field(default="production", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    """The environment the daemon's Sentry events are filed under (``production``, ``test``, ...)."""

    # --- heartbeat and loopback ---------------------------------------------------------------------
    heartbeat_interval_s: float = Field(default=0.0, ge=0)
    """A synthetic test alert is sent through the prompt path this often (the ``heartbeat`` job);
    its notices are read back from the output topics and compared byte for byte with what the outbox
    sent. 0 (the default) turns the heartbeat off; production runs it, e.g. every 300 s."""

    heartbeat_timeout_s: float = Field(default=120.0, gt=0)
    """A heartbeat whose notices are not all read back within this many seconds is ``missing``: a
    CRITICAL of ``skymist check`` and a message to the shifters."""

    heartbeat_topic: TopicName = "skymist.heartbeat"
    """Input topic of the synthetic heartbeat alerts (the heartbeat job produces and consumes it)."""

    heartbeat_notice_topic: TopicName = "gcn.notices.icecube.test.gold_bronze_track_alerts"
    """Output topic of the heartbeat's JSON notices (``alert_tense`` test: never the real topic)."""

    heartbeat_voevent_topic: TopicName = "gcn.classic.voevent.icecube.test"
    """Output topic of the heartbeat's VOEvents."""

    heartbeat_run_id: int = Field(default=999_999, ge=1, le=2**31 - 1)
    """Run id of the synthetic heartbeat events (no detector run has it); their alerts are named
    ``heartbeat-<event id>`` and never take a public IceCube-YYMMDDA name."""

    # --- health checks (skymist check) and telling shifters --------------------------------------
    check_lag_warning: int = Field(default=100, ge=1, json_schema_extra={"unit": "messages"})
    """Consumer lag (messages behind on one partition) that is a WARNING."""

    check_lag_critical: int = Field(default=1000, ge=1, json_schema_extra={"unit": "messages"})
    """Consumer lag on one partition that is CRITICAL."""

    check_silence_warning_s: float = Field(default=3600.0, gt=0)
    """No input message (realtime stream or ``gcn_heartbeat_topic``) for this long is a WARNING."""

    check_silence_critical_s: float = Field(default=4 * 3600.0, gt=0)
    """No input message for this long is CRITICAL."""

    gcn_heartbeat_topic: TopicName | None = None
    """GCN's own ``gcn.heartbeat`` topic, when consumed: counts as input for the silence check."""

    check_outbox_age_warning_s: float = Field(default=60.0, gt=0)
    """An outbox row still unsent this long after it was queued is a WARNING."""

    check_outbox_age_critical_s: float = Field(default=300.0, gt=0)
    """An outbox row unsent this long (or any dead row) is CRITICAL."""

    check_disk_warning_free: float = Field(default=0.10, ge=0, le=1)
    """Free fraction of the file system of ``data_dir`` below which the disk check is a WARNING."""

    check_disk_critical_free: float = Field(default=0.05, ge=0, le=1)
    """Free fraction of the file system of ``data_dir`` below which the disk check is CRITICAL."""

    shifters_unreachable_after_s: float = Field(default=120.0, ge=0)
    """The store or the broker unreachable for longer than this is told to the shifters (Slack)."""

    shifters_repeat_s: float = Field(default=3600.0, ge=0)
    """The same warning is told to the shifters at most once per this many seconds."""

    # --- shifters' web console (skymist console, the daemon's console job) -------------------------
    console_base_url: HttpAddress | None = None
    """Public URL of the web console (e.g. ``https://roc.example.org/skymist``). When set, every
    Slack message about an alert links to the alert's console page ``<console_base_url>/alerts/<id>``."""

    console_enabled: bool = False
    """Run the console as one of the daemon's jobs (``skymist run`` without ``--jobs``); it also runs
    when named (``--jobs ...,console``) or alone (``skymist console``)."""

    console_host: str = Field(default="127.0.0.1", min_length=1)
    """Address the console listens on (behind the site's TLS proxy in production; the daemon's when
    ``http_port`` is unset)."""

    console_port: int = Field(default=8090, ge=0, le=65535)
    """Port the console listens on (``skymist console``; the daemon's when ``http_port`` is unset)."""

    console_users: list[ConsoleUser] = Field(default_factory=list)
    """Local accounts (the demo, or a site without OIDC): a list of ``{name, role, password_hash}``,
    role ``shifter`` (acts) or ``observer`` (read-only); the hash from ``skymist console
    --hash-password``. In the environment: JSON."""

    console_session_secret: SecretStr | None = None
    """Key that signs the console's login cookie (the login form's CSRF token, the OIDC login's
    state, nonce and PKCE verifier; at least 32 characters; the same on every console process behind
    one address). None: a random key per process. Sessions themselves live in the store."""

    console_session_max_age_s: float = Field(default=12 * 3600.0, gt=0)
    """How long a console login lasts at most, in seconds (then the user logs in again)."""

    console_session_idle_s: float = Field(default=3600.0, gt=0)
    """A console session unused for this many seconds ends."""

    console_session_recheck_s: float = Field(default=300.0, gt=0)
    """An OIDC session's groups are re-checked with the issuer (refresh token, userinfo) at least
    this often, in seconds: a user removed from the shifter group stops acting at the next check, a
    user the issuer no longer knows is logged out."""

    console_login_attempts: int = Field(default=10, ge=1)
    """Wrong passwords for one account (within ``console_login_lockout_s``) before that account is
    locked out for ``console_login_lockout_s``."""

    console_login_address_attempts: int = Field(default=50, ge=1)
    """Failed logins from one client address (within ``console_login_lockout_s``) before that
    address is locked out for ``console_login_lockout_s``."""

    console_login_lockout_s: float = Field(default=900.0, gt=0)
    """How long a locked-out account or address waits before it may try again, in seconds."""

    console_live_refresh_s: float = Field(default=2.0, ge=0.2)
    """How often an open alert page (and the alert list) asks for its scans' progress and updates
    it in place, in seconds."""

    console_cookie_secure: bool = False
    """Mark the session cookie ``Secure`` (sent over HTTPS only): on in production behind TLS."""

    console_oidc_issuer: HttpAddress | None = None
    """OIDC issuer of the console's production login (IceCube's Keycloak realm, e.g.
    ``https://keycloak.icecube.wisc.edu/auth/realms/IceCube``): its ``/.well-known/openid-configuration``
    gives the authorization, token and key endpoints. None: local accounts only."""

    console_oidc_client_id: str | None = Field(default=None, min_length=1)
    """OIDC client id of the console (authorization-code flow; redirect URI
    ``<console_base_url>/auth/callback``)."""

    console_oidc_client_secret: SecretStr | None = None
    """OIDC client secret of the console (never logged)."""

    console_oidc_scopes: str = Field(default="openid profile email", pattern=r"(^|\s)openid(\s|$)")
    """Scopes asked for at the OIDC login."""

    console_oidc_username_claim: str = Field(default="preferred_username", min_length=1)
    """ID-token claim whose value is the user's name in the audit log."""

    console_oidc_groups_claim: str = Field(default="groups", min_length=1)
    """ID-token claim listing the user's groups."""

    console_oidc_shifter_groups: list[str] = Field(default_factory=lambda: ["/realtime/shifters"])
    """Groups whose members are shifters (may act); every other user of the issuer is an observer."""

    @field_validator("sentry_dsn")
    @classmethod
    def _sentry_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        dsn = urlsplit(value.get_secret_value())
        if dsn.scheme not in ("http", "https") or not dsn.username or not dsn.hostname:
            raise ValueError("expected a Sentry DSN, https://PUBLIC_KEY@HOST/PROJECT_ID")
        if not dsn.path.rstrip("/").rsplit("/", 1)[-1].isdigit():
            raise ValueError("expected a Sentry DSN ending in its numeric project id (https://KEY@HOST/ID)")
        return value

    @field_validator("database_url")
    @classmethod
    def _store_url(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        shown = masked_url(text)
        try:
            url = make_url(text)
        except ArgumentError:
            raise ValueError(
                f"{shown!r} is not a store URL; give postgresql+psycopg://USER@HOST:5432/DB "
                "(or sqlite:///FILE for the demo)"
            ) from None
        if url.get_backend_name() not in STORE_BACKENDS:
            raise ValueError(
                f"{shown!r}: the store must be PostgreSQL (postgresql+psycopg://USER@HOST:5432/DB) "
                f"or, for the demo, SQLite (sqlite:///FILE); {url.get_backend_name()!r} is not supported"
            )
        return value

    # --- FAIR archive and catalogue -----------------------------------------------------------------
    archive_dir: Path | None = None
    """Folder of the alert records (one BagIt bag holding an RO-Crate per alert, plain files that
    rsync or an object-store sync can mirror). None: ``data_dir/archive``."""

    archive_enabled: bool = True
    """Write each alert's record from the outbox's after-sent hook and the scan hand-off."""

    archive_write_settle_s: float = Field(default=0.5, ge=0, le=60)
    """How long the record writer waits after a send before writing, gathering the other sends of
    the same alerts (its notice, VOEvent and Slack message go out within milliseconds): each record is
    then written once instead of once per product, and the writer takes less from the sends. 0:
    write at once."""

    archive_sweep_interval_s: float = Field(default=10.0, gt=0)
    """How often the daemon's ``archive`` job completes records that fell behind the store (a daemon
    killed between a send and its record write)."""

    archive_site_interval_s: float = Field(default=60.0, ge=0)
    """Shortest time between two regenerations of the static HTML catalogue by the ``archive`` job
    (only when an alert changed; 0: never, ``skymist catalogue site`` only)."""

    catalogue_base_url: PublicAddress = "https://roc.example.org/public/catalogue"
    """Public URL of the static HTML catalogue; an alert's landing page (the URL its DOI resolves to)
    is ``<catalogue_base_url>/<alert name>.html``."""

    archive_publisher: str = Field(default="IceCube Collaboration", min_length=1)
    """Publisher and creator named in the DataCite and schema.org metadata of every record."""

    archive_publisher_url: HttpAddress = "https://icecube.wisc.edu/"
    """Web site of the publisher: the ``url`` of its Organization in every record's RO-Crate."""

    archive_publisher_ror: str | None = Field(
        default="https://ror.org/01y2jtd41", pattern=r"^https://ror\.org/0[a-hj-km-np-tv-z0-9]{6}[0-9]{2}$"
    )
    """ROR identifier of the publisher, the ``@id`` of its Organization in every record's RO-Crate
    (default: the University of Wisconsin-Madison, IceCube's host institution); unset: a local id."""

    archive_license_url: HttpAddress = "https://creativecommons.org/publicdomain/zero/1.0/"
    """Licence of the records (DataCite ``rightsList``, schema.org ``license``)."""

    doi_prefix: str = Field(default="10.5072", pattern=r"^10\.\d{4,9}$")
    """DataCite DOI prefix of the alert records (``10.5072`` is DataCite's test prefix)."""

    doi_suffix_pattern: str = Field(
        default="icecube.alert.{run_id}.{event_id}",
        json_schema_extra={"allowed": "a format string naming {run_id} and {event_id}, or {name}"},
    )
    """DOI suffix of an alert, a Python format string with ``{run_id}``, ``{event_id}`` and ``{name}``;
    each revision gets ``<doi>.r<revision>`` (the alert's DOI is the concept, the revisions its
    versions)."""

    datacite_enabled: bool = False
    """Register and update the DOIs through DataCite's REST API (an outbox sink: exactly once,
    retried; ``draft`` until the alert's first public revision, ``findable`` after). Off by default."""

    datacite_api_url: HttpAddress = "https://api.test.datacite.org"
    """Base URL of DataCite's REST API (production: ``https://api.datacite.org``)."""

    datacite_username: str | None = Field(default=None, min_length=1)
    """DataCite repository account id (HTTP basic auth of the REST API)."""

    datacite_password: SecretStr | None = None
    """DataCite repository password (never logged)."""

    @model_validator(mode="after")
    def _relations(self) -> Settings:
        """Settings that only make sense together: a warning comes before its critical, a floor of the
        50% radius is not above the 90% one's, a share is not above its whole."""
        for first, second, rule in _ORDERED:
            low, high = getattr(self, first), getattr(self, second)
            if low > high:
                raise ValueError(
                    f"{first} = {low:g} is above {second} = {high:g} ({rule}): "
                    f"lower {first} or raise {second}"
                )
        return self

    @field_validator("doi_suffix_pattern")
    @classmethod
    def _doi_suffix(cls, value: str) -> str:
        try:
            sample = value.format(run_id=136662, event_id=35405932, name="IceCube-220524A")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not a format string of {{run_id}}, {{event_id}} and {{name}} ({exc!r})"
            ) from None
        named = {field for _text, field, _spec, _conv in string.Formatter().parse(value) if field}
        if not ({"run_id", "event_id"} <= named or "name" in named):
            raise ValueError(
                f"{value!r} is the same for every alert: name {{run_id}} and {{event_id}}, or {{name}}"
            )
        if not re.fullmatch(r"[!-~]+", sample):
            raise ValueError(f"{value!r} gives {sample!r}: a DOI suffix is printable ASCII without spaces")
        return value

    @property
    def notice_brokers(self) -> str:
        """The brokers the notices go to (without ``gcn_client_id``): ``notice_bootstrap_servers``
        or ``kafka_bootstrap_servers``."""
        return self.notice_bootstrap_servers or self.kafka_bootstrap_servers

    @property
    def archive_root(self) -> Path:
        """The folder of the records: ``archive_dir`` or ``data_dir/archive``."""
        return self.archive_dir if self.archive_dir is not None else self.data_dir / "archive"

    @field_validator("kafka_topics", "supported_event_versions", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


#: (lower, higher, why): pairs of settings the first of which may not exceed the second.
#: (slack_operational_max_per_minute above slack_max_per_minute is allowed: the dispatcher uses the
#: smaller of the two, so lowering the total alone stays a valid setting.)
_ORDERED: tuple[tuple[str, str, str], ...] = (
    ("err50_floor_deg", "err90_floor_deg", "the 50% region lies inside the 90% region"),
    ("outbox_backoff_base_s", "outbox_backoff_max_s", "the first retry delay is bounded by the longest"),
    ("check_lag_warning", "check_lag_critical", "a WARNING comes before the CRITICAL"),
    ("check_silence_warning_s", "check_silence_critical_s", "a WARNING comes before the CRITICAL"),
    ("check_outbox_age_warning_s", "check_outbox_age_critical_s", "a WARNING comes before the CRITICAL"),
    (
        "check_disk_critical_free",
        "check_disk_warning_free",
        "less free space is worse: the CRITICAL fraction is the lower one",
    ),
    ("console_session_idle_s", "console_session_max_age_s", "a session ends at its maximum age anyway"),
)


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build the settings: ``overrides`` > environment > TOML file (``config_file`` or
    ``SKYMIST_CONFIG``) > defaults. A named file that is missing or not TOML is an error naming it."""
    return Settings.load(config_file, **overrides)


def describe_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, current value with secrets masked, docstring) for every setting."""
    rows = []
    for name, shown, doc in settings.describe():
        value = getattr(settings, name)
        if name == "database_url":
            from skymist.store.db import safe_url

            shown = repr(safe_url(settings.database_url.get_secret_value()))
        if name == "kafka_config" and value:
            shown = "{" + ", ".join(f"{k!r}: '********'" for k in value) + "}"
        rows.append((name, shown, doc))
    return rows
