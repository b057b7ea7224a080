"""The one settings object.

Every setting is read from an ``EDGEWATCH_``-prefixed environment variable, an optional ``.env``
file in the working directory, or a file named after the setting in the secrets directory
(``/run/secrets/edgewatch_secret_key`` style, as Docker and Kubernetes mount them). Invalid values
stop start-up with one line naming the setting: see ``load_settings``.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from edgewatch.errors import ConfigError

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "development-only"})
SUPPORTED_DATABASES = ("sqlite", "postgresql")
KNOWN_SOURCES = frozenset({"sim", "kalshi", "polymarket", "replay"})
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "edgewatch"


class Settings(BaseSettings):
    """Edgewatch configuration; see the README's settings table for each field."""

    model_config = SettingsConfigDict(
        env_prefix="EDGEWATCH_", env_file=".env", extra="ignore", validate_default=True
    )

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    secret_key: SecretStr = SecretStr("development-only")
    secrets_dir: Path = Path("/run/secrets")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: Processes ``edgewatch serve`` answers requests with (one Python process uses one core).
    api_workers: int = Field(default=1, ge=1, le=64)
    #: PEM certificate chain and private key: set both and ``serve`` speaks HTTPS itself
    #: (most installs terminate TLS at a reverse proxy instead; see docs/deployment.md).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    sources: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["sim"])
    embedded_scheduler: bool = False
    ingest_interval_seconds: float = Field(default=10.0, gt=0, le=86_400)
    ingest_backfill_minutes: float = Field(default=60.0, ge=0, le=60 * 24 * 30)
    data_stale_after_hours: float = Field(default=6.0, gt=0)
    # Data-quality checks (docs/data-quality.md). A gap is a pause between two ticks longer than
    # ``quality_gap_factor`` times the market's usual spacing and than ``quality_min_gap_minutes``.
    quality_gap_factor: float = Field(default=10.0, gt=1, le=10_000)
    quality_min_gap_minutes: float = Field(default=5.0, gt=0, le=60 * 24 * 30)
    #: The same bid, ask and last for longer than this while ticks keep arriving is a stale quote.
    quality_stale_quote_minutes: float = Field(default=60.0, gt=0, le=60 * 24 * 30)
    #: A move of the price (probability) larger than this between two ticks is a sudden jump.
    quality_jump_threshold: float = Field(default=0.2, gt=0, le=1)

    kalshi_base_url: str = "https://api.elections.kalshi.com/trade-api/v2"
    kalshi_api_key_id: str | None = None
    #: PEM file of the Kalshi API private key; needed only for private (signed) endpoints.
    kalshi_private_key_file: Path | None = None
    polymarket_gamma_url: str = "https://gamma-api.polymarket.com"
    polymarket_clob_url: str = "https://clob.polymarket.com"
    venue_max_pages: int = Field(default=20, ge=1, le=10_000)
    #: Directory made by ``edgewatch record``; the ``replay`` source plays it back.
    recording_dir: Path | None = None
    #: Replay pace: 1 is real time, 10 ten times faster; 0 plays everything at once.
    replay_speed: float = Field(default=1.0, ge=0, le=1_000_000)

    sim_seed: int = 7
    sim_events: int = Field(default=60, ge=1, le=100_000)
    sim_step_seconds: float = Field(default=5.0, gt=0)

    signal_min_edge: float = Field(default=0.005, ge=0, le=1)
    signal_max_quote_age_seconds: float = Field(default=120.0, gt=0)
    signal_ttl_seconds: float = Field(default=300.0, gt=0)
    high_confidence_threshold: float = Field(default=0.8, ge=0, le=1)
    #: Name of a registered probability model; when set, the live ``model_edge`` strategy trades
    #: its active version (``edgewatch models train|activate``).
    signal_model: str | None = None
    signal_model_margin: float = Field(default=0.02, gt=0, le=1)

    # Paper trading (docs/paper-trading.md).
    #: A manual paper order needs a quote of its market at most this old.
    paper_max_quote_age_seconds: float = Field(default=120.0, gt=0, le=86_400)
    #: A manual paper order that meets no quote within this long expires.
    paper_order_ttl_seconds: float = Field(default=300.0, gt=0, le=7 * 86_400)

    # Accounts and sign-in (docs/api.md, "Authentication").
    #: Unauthenticated requests act as a viewer (read-only public installs; ``edgewatch demo``).
    public_read: bool = False
    #: Emails that become admins on their first SSO sign-in (everyone else starts as a viewer).
    admin_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: A browser session ends after this long without a request…
    session_idle_minutes: float = Field(default=60.0, gt=0, le=60 * 24 * 30)
    #: …and after this long in any case.
    session_max_hours: float = Field(default=12.0, gt=0, le=24 * 90)
    #: ``Secure`` session cookies; unset means on everywhere except the development environment.
    cookie_secure: bool | None = None
    #: The address users reach Edgewatch at (``https://edgewatch.example.com``), used to build SSO
    #: redirect URIs; unset takes it from each request.
    public_url: str | None = None
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    #: Any OpenID Connect issuer: its base URL (``/.well-known/openid-configuration`` is read).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    #: The label of the generic OIDC button on the sign-in page.
    oidc_name: str = "Single sign-on"

    # API hardening (docs/api.md, "Rate limits", "Caching", "Security headers"). Rate limits, the
    # response cache and data versions live in ``redis_url`` when set, in memory otherwise.
    #: Prefix of every Redis key Edgewatch writes, so deployments can share one Redis.
    redis_key_prefix: str = Field(default="edgewatch", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    #: Proxies (CIDR list) whose ``X-Forwarded-For`` is believed; nobody's by default.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    rate_limit_enabled: bool = True
    rate_limit_per_minute: int = Field(default=100, ge=1, le=1_000_000)
    rate_limit_login_per_minute: int = Field(default=10, ge=1, le=1_000_000)
    rate_limit_expensive_per_minute: int = Field(default=10, ge=1, le=1_000_000)
    cache_enabled: bool = True
    #: Size of the in-memory response cache (used when no Redis is configured).
    cache_memory_mb: int = Field(default=64, ge=1, le=65_536)
    #: Browser origins (``https://host[:port]``) allowed to call the API cross-origin.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Send HSTS even on plain-HTTP requests (TLS ends at a proxy that forwards plain HTTP).
    hsts: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=1_073_741_824)
    #: Requests one API process works on at once (and its worker threads); more wait in line.
    max_concurrent_requests: int = Field(default=40, ge=1, le=1_000)
    #: Seconds a request may wait in line before it is refused with a 503 (load shedding).
    request_queue_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    # Workers and schedules (docs/operations.md, "Workers and schedules").
    #: Redis: the Celery broker and result store. Unset: pipelines run in-process only.
    redis_url: str | None = None
    #: A Celery broker other than ``redis_url`` (rarely needed; must be Redis).
    broker_url: str | None = None
    #: Tasks one ``edgewatch worker`` runs at once (prefork processes).
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    #: A task past this is interrupted and its pipeline run recorded as failed.
    task_soft_time_limit_seconds: float = Field(default=600.0, gt=0, le=86_400)
    #: A task past this has its worker process killed (after the soft limit did not stop it).
    task_time_limit_seconds: float = Field(default=660.0, gt=0, le=86_400)
    #: Retries of a task that failed with a temporary error (venue down, database busy).
    task_max_retries: int = Field(default=5, ge=0, le=100)
    #: First retry delay; each further retry doubles it (with jitter), up to 10 minutes.
    task_retry_backoff_seconds: float = Field(default=5.0, gt=0, le=600)
    #: Port where ``edgewatch worker`` and ``edgewatch scheduler`` serve /health and /metrics.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    #: A read-only replica for the dashboard and read-only API routes; unset reads the primary.
    database_read_url: str | None = None
    #: Where archives go: ``s3://bucket/prefix`` or a directory; unset is ``<data_dir>/archive``.
    archive_url: str | None = None
    #: Endpoint of an S3-compatible store (MinIO, R2, Spaces…); unset is AWS S3 itself.
    archive_endpoint_url: str | None = None
    tick_retention_days: int = Field(default=90, ge=1, le=36_500)
    backtest_retention_days: int = Field(default=180, ge=1, le=36_500)
    #: Where ``db backup`` writes: ``s3://bucket/prefix`` or a directory; unset is
    #: ``<data_dir>/backups``.
    backup_url: str | None = None
    #: Backups older than this many days are deleted, but the newest ``backup_keep_min`` never.
    backup_retention_days: int = Field(default=30, ge=1, le=36_500)
    backup_keep_min: int = Field(default=7, ge=1, le=10_000)
    #: Strategies that produce live signals, with their default parameters (``model_edge`` is
    #: enabled by ``signal_model`` instead). Arbitrage keeps the ``signal_*`` settings above.
    live_strategies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cross_venue_arbitrage"]
    )
    #: Ticks before the fresh ones that live strategies see as context: the 20-tick windows of
    #: mean reversion and momentum and the 50-tick window of convergence must fit inside it.
    signal_context_seconds: float = Field(default=600.0, gt=0, le=86_400)

    # In-app alerting (see docs/alerting.md). A channel is on when its destination is set.
    alert_webhook_url: SecretStr | None = None
    alert_slack_webhook_url: SecretStr | None = None
    alert_discord_webhook_url: SecretStr | None = None
    alert_telegram_bot_token: SecretStr | None = None
    alert_telegram_chat_id: str | None = None
    alert_telegram_api_url: str = "https://api.telegram.org"
    alert_smtp_host: str | None = None
    alert_smtp_port: int = Field(default=587, ge=1, le=65535)
    alert_smtp_user: str | None = None
    alert_smtp_password: SecretStr | None = None
    alert_smtp_starttls: bool = True
    alert_email_from: str | None = None
    alert_email_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: A still-firing alert is sent again after this long; resolved alerts are sent once.
    alert_repeat_interval_minutes: float = Field(default=240.0, gt=0)
    alert_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _database_url_is_supported(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL: {value!r}") from None
        if url.get_backend_name() not in SUPPORTED_DATABASES:
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r} "
                f"(use one of: {', '.join(SUPPORTED_DATABASES)})"
            )
        return value

    @field_validator("sources", "trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _split_sources(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("live_strategies", "alert_email_to", "admin_emails", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("live_strategies")
    @classmethod
    def _live_strategies_are_known(cls, value: list[str]) -> list[str]:
        from edgewatch.strategies.registry import strategy_names

        if "model_edge" in value:
            raise ValueError("model_edge runs when EDGEWATCH_SIGNAL_MODEL names a model")
        unknown = sorted(set(value) - set(strategy_names()))
        if unknown:
            known = ", ".join(strategy_names())
            raise ValueError(f"unknown strategy(s) {', '.join(unknown)} (known: {known})")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _one_scheduler(self) -> Settings:
        if self.embedded_scheduler and self.api_workers > 1:
            raise ValueError(
                "EDGEWATCH_API_WORKERS > 1 needs the Celery scheduler: every worker would run "
                "its own embedded scheduler (set EDGEWATCH_EMBEDDED_SCHEDULER=false)"
            )
        return self

    @model_validator(mode="after")
    def _sso_providers_are_complete(self) -> Settings:
        pairs = (
            ("GITHUB", self.github_client_id, self.github_client_secret),
            ("GOOGLE", self.google_client_id, self.google_client_secret),
            ("OIDC", self.oidc_client_id, self.oidc_client_secret),
        )
        for name, client_id, secret in pairs:
            if (client_id is None) != (secret is None):
                raise ValueError(
                    f"EDGEWATCH_{name}_CLIENT_ID and EDGEWATCH_{name}_CLIENT_SECRET go together"
                )
        if (self.oidc_issuer is None) != (self.oidc_client_id is None):
            raise ValueError("EDGEWATCH_OIDC_ISSUER and EDGEWATCH_OIDC_CLIENT_ID go together")
        return self

    @model_validator(mode="after")
    def _alert_channels_are_complete(self) -> Settings:
        if (self.alert_telegram_bot_token is None) != (self.alert_telegram_chat_id is None):
            raise ValueError(
                "EDGEWATCH_ALERT_TELEGRAM_BOT_TOKEN and EDGEWATCH_ALERT_TELEGRAM_CHAT_ID "
                "go together"
            )
        if self.alert_smtp_host and not (self.alert_email_from and self.alert_email_to):
            raise ValueError(
                "EDGEWATCH_ALERT_SMTP_HOST needs EDGEWATCH_ALERT_EMAIL_FROM and "
                "EDGEWATCH_ALERT_EMAIL_TO"
            )
        if (self.alert_smtp_user is None) != (self.alert_smtp_password is None):
            raise ValueError(
                "EDGEWATCH_ALERT_SMTP_USER and EDGEWATCH_ALERT_SMTP_PASSWORD go together"
            )
        return self

    @field_validator("sources")
    @classmethod
    def _sources_are_known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - KNOWN_SOURCES)
        if unknown:
            known = ", ".join(sorted(KNOWN_SOURCES))
            raise ValueError(f"unknown source(s) {', '.join(unknown)} (known: {known})")
        return value

    @model_validator(mode="after")
    def _tls_files_are_complete(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("EDGEWATCH_TLS_CERT_FILE and EDGEWATCH_TLS_KEY_FILE go together")
        for name, path in (("CERT", self.tls_cert_file), ("KEY", self.tls_key_file)):
            if path is not None and not path.is_file():
                raise ValueError(f"EDGEWATCH_TLS_{name}_FILE: no such file {path}")
        return self

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_plain(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"not an origin (scheme://host[:port], no path): {origin!r}")
        return value

    @model_validator(mode="after")
    def _kalshi_key_is_complete(self) -> Settings:
        if (self.kalshi_api_key_id is None) != (self.kalshi_private_key_file is None):
            raise ValueError(
                "EDGEWATCH_KALSHI_API_KEY_ID and EDGEWATCH_KALSHI_PRIVATE_KEY_FILE go together"
            )
        if self.kalshi_private_key_file is not None and not self.kalshi_private_key_file.is_file():
            raise ValueError(
                f"EDGEWATCH_KALSHI_PRIVATE_KEY_FILE: no such file {self.kalshi_private_key_file}"
            )
        return self

    @field_validator("redis_url", "broker_url")
    @classmethod
    def _redis_url_is_redis(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"not a Redis URL (redis://host:6379/0): {value!r}")
        return value

    @model_validator(mode="after")
    def _task_time_limits_are_ordered(self) -> Settings:
        if self.task_soft_time_limit_seconds >= self.task_time_limit_seconds:
            raise ValueError(
                "EDGEWATCH_TASK_SOFT_TIME_LIMIT_SECONDS must be below "
                "EDGEWATCH_TASK_TIME_LIMIT_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        placeholder = self.secret_key.get_secret_value().lower() in PLACEHOLDER_SECRETS
        if self.environment != "development" and placeholder:
            raise ValueError(
                "EDGEWATCH_SECRET_KEY: a placeholder secret is refused outside development"
            )
        return self

    @property
    def resolved_broker_url(self) -> str | None:
        """The Celery broker: ``broker_url``, else ``redis_url``; ``None`` means no workers."""
        return self.broker_url or self.redis_url

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'edgewatch.sqlite3'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The secrets directory is itself a setting; read it from the environment first, and only
        # hand it to pydantic when it exists (a missing directory is normal outside containers).
        secrets_dir = Path(os.environ.get("EDGEWATCH_SECRETS_DIR", "/run/secrets"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if secrets_dir.is_dir():
            sources.append(
                SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir, case_sensitive=False)
            )
        secret_id = os.environ.get("EDGEWATCH_AWS_SECRET_ID")
        if secret_id:
            from edgewatch.secrets_manager import SecretsManagerSource

            sources.append(SecretsManagerSource(settings_cls, secret_id))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning a validation failure into one ``ConfigError`` line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["loc"]:
            field = ".".join(str(part) for part in first["loc"])
            message = f"EDGEWATCH_{field.upper()}: {message}"
        raise ConfigError(f"invalid configuration: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
