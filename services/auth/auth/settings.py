"""The one settings class of the auth service (environment variables, upper case)."""

from __future__ import annotations

from common.settings import BrokerSettings, DatabaseSettings, RedisSettings, ServiceSettings


class AuthSettings(ServiceSettings, DatabaseSettings, RedisSettings, BrokerSettings):
    service_name: str = "auth"
    http_port: int = 8001
    db_schema: str = "auth"
