"""Settings, read from environment variables (pydantic-settings).

Every setting has a safe development default so that `make run` needs no set-up. With `JOBCOST_ENV=production`
the development secret key is refused here, and the service refuses to start while an admin can sign in with the
development password (see `app.main`).
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET_KEY = "jobcost-development-secret-key-do-not-use-in-production"  # noqa: S105 - public by design
DEV_ADMIN_EMAIL = "admin@example.com"
DEV_ADMIN_PASSWORD = "admin"  # noqa: S105 - public by design, refused in production
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/jobcost.db"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Service configuration. Variable names are the field names upper-cased with a `JOBCOST_` prefix,
    except `DATABASE_URL`, which is also read without the prefix."""

    model_config = SettingsConfigDict(env_prefix="JOBCOST_", extra="ignore", frozen=True)

    env: Environment = Environment.development
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("JOBCOST_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    access_token_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    admin_email: str = DEV_ADMIN_EMAIL
    admin_password: SecretStr = SecretStr(DEV_ADMIN_PASSWORD)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated browser origins allowed to call the API."
    )
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest request body (413 past it).")
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, description="Largest header section (431 past it).")
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        default=None, description="`json` (one object per line) or `text`; default: json in production, text "
                                  "otherwise.")
    recost_chunk_jobs: int = Field(default=10_000, ge=1, le=100_000,
                                   description="Jobs re-costed per transaction by a recost.")
    recost_inline_max_jobs: int = Field(
        default=20_000, ge=0, description="A recost of more jobs than this runs as an operation (202 + Location).")
    operation_stale_seconds: int = Field(
        default=120, ge=4, description="A running operation without a heartbeat for this long is marked failed.")
    anomaly_threshold: float = Field(
        default=3.5, ge=1.0, le=1000.0,
        description="Robust z-score (distance above the trailing 28 days' median in 1.4826 × MAD) from which a "
                    "day's spend is an anomaly (docs/forecast-and-anomalies.md).")
    anomaly_min_usd: Decimal = Field(
        default=Decimal(10), ge=0, le=Decimal(10) ** 9, decimal_places=6,
        description="USD a day must spend above its expected value to be an anomaly, so tiny series do not flood.")
    # Sign-in throttling (docs/sign-in.md).
    login_max_failures_per_account: int = Field(
        default=5, ge=1, description="Failed sign-ins of one account within the window before it is locked out.")
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed sign-ins from one client address within the window before it is.")
    login_failure_window_seconds: int = Field(default=900, ge=1, description="The window failures count in.")
    login_lockout_seconds: int = Field(default=60, ge=1, description="The first lockout; each next one doubles.")
    login_lockout_max_seconds: int = Field(default=900, ge=1, description="The longest lockout.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
                                          "X-Forwarded-For names the client; empty: the socket's peer is the client.")

    metrics_token: SecretStr | None = Field(
        default=None, description="When set, GET /metrics needs `Authorization: Bearer <this>`.")
    metrics_allow: Annotated[list[str] | None, NoDecode] = Field(
        default=None, description="Comma-separated client networks (CIDR) that may read GET /metrics; default: "
                                  "loopback and private networks in production, any address otherwise.")

    alerts_interval_seconds: int = Field(
        default=60, ge=0, description="Budgets are evaluated (and due webhook deliveries sent) this often by a "
                                      "timer in the service, besides after each ingest that changed figures; 0: no "
                                      "timer.")
    alerts_timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="Timeout of one webhook request.")
    alerts_max_attempts: int = Field(default=6, ge=1, le=20, description="Attempts per webhook delivery.")
    alerts_retry_base_seconds: float = Field(
        default=30.0, gt=0, description="Wait before the 2nd attempt; doubled for each later one (at most 1 hour).")

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict):
            for name in ("cors_origins", "metrics_allow", "trusted_proxies"):
                raw = data.get(name)
                if isinstance(raw, str):
                    data = {**data, name: [o.strip() for o in raw.split(",") if o.strip()]}
        return data

    @model_validator(mode="after")
    def _check_proxies(self) -> Settings:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"JOBCOST_TRUSTED_PROXIES: {proxy!r} is not an IP address or network") from None
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env is Environment.production:
            key = self.secret_key.get_secret_value()
            if key == DEV_SECRET_KEY:
                raise ValueError("JOBCOST_SECRET_KEY is the development key; set a secret of 32+ characters")
            if len(key) < 32:
                raise ValueError("JOBCOST_SECRET_KEY must be at least 32 characters in production")
        for network in self.metrics_allow or ():
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"JOBCOST_METRICS_ALLOW: {network!r} is not a network such as 10.0.0.0/8 or "
                                 "::1/128") from None
        if "*" in self.cors_origins:
            raise ValueError("JOBCOST_CORS_ORIGINS may not be '*': list the origins that may call the API")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def log_format_in_use(self) -> str:
        """`json` or `text`: the setting, else json in production and text elsewhere."""
        return self.log_format or ("json" if self.is_production else "text")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
