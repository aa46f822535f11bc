"""The settings base every service's one settings class extends.

``ENV`` is required: no default can silently put production in a development mode. Outside
``local``/``test`` each service lists what is unsafe in :meth:`ServiceSettings.unsafe_settings`;
any entry stops startup with a message naming the setting.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    STAGING = "staging"
    PROD = "prod"

    @property
    def is_deployed(self) -> bool:
        return self in (Environment.STAGING, Environment.PROD)


class UnsafeSettingsError(ValueError):
    """Raised at startup when a deployed environment is configured unsafely."""

    def __init__(self, env: Environment, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"refusing to start with ENV={env.value}; unsafe settings:\n{lines}")


_CONNECTION_SETTINGS = ("database_url", "redis_url", "rabbitmq_url")


class ServiceSettings(BaseSettings):
    """Settings shared by every service. Environment variables use the field names in upper case."""

    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, validate_default=True, hide_input_in_errors=True
    )

    env: Environment
    service_name: str = "service"
    service_version: str = "0.1.0"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True

    otlp_endpoint: str | None = None
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    gc_gen0_threshold: int = Field(default=50_000, ge=0, le=10_000_000)
    """Young-generation GC threshold of the process; once started, what is alive is frozen out
    of the collector's scans (``common.gc_tuning``). 0: keep Python's defaults."""

    def unsafe_settings(self) -> list[str]:
        """Problems that make this configuration unsafe outside local/test. Services extend it."""
        problems: list[str] = []
        if not self.otlp_endpoint:
            problems.append("OTLP_ENDPOINT: must be set (traces are required in deployed envs)")
        for name in _CONNECTION_SETTINGS:
            if name in type(self).model_fields and name not in self.model_fields_set:
                problems.append(f"{name.upper()}: must be set explicitly (the default is local)")
        rabbitmq_url = getattr(self, "rabbitmq_url", None)
        if isinstance(rabbitmq_url, str) and "guest:guest@" in rabbitmq_url:
            problems.append("RABBITMQ_URL: the guest account is for local use only")
        return problems

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Self:
        if self.env.is_deployed:
            problems = self.unsafe_settings()
            if problems:
                raise UnsafeSettingsError(self.env, problems)
        return self


class DatabaseSettings(BaseSettings):
    """Mixin for services that own a Postgres schema."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/nerava"
    db_schema: str = "public"
    # The engine keeps up to DB_POOL_SIZE connections open. An overflow connection is closed
    # as soon as it is returned, so a service whose handlers often want more than the pool
    # holds (payments' consumers) would open and close a Postgres backend every few hundred
    # milliseconds, each one a fork and a cold catalog cache on the shared server: by default
    # there is none, and a handler waits for a pooled connection instead.
    db_pool_size: int = Field(default=15, ge=1, le=100)
    db_max_overflow: int = Field(default=0, ge=0, le=100)
    db_statement_timeout_ms: int = Field(default=5_000, ge=100)


class RedisSettings(BaseSettings):
    """Mixin for services that use Redis."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "nerava"
    redis_timeout_seconds: float = Field(default=1.0, gt=0, le=30)


class BrokerSettings(BaseSettings):
    """Mixin for services connected to RabbitMQ."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
