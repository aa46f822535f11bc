"""The one settings class of the auth service (environment variables, upper case)."""

from __future__ import annotations

from common.messaging.settings import MessagingSettings
from common.settings import DatabaseSettings, RedisSettings, ServiceSettings


class AuthSettings(ServiceSettings, DatabaseSettings, RedisSettings, MessagingSettings):
    service_name: str = "auth"
    http_port: int = 8001
    db_schema: str = "auth"
