"""The one settings class of the notifications service (environment variables, upper case)."""

from __future__ import annotations

from common.settings import BrokerSettings, DatabaseSettings, RedisSettings, ServiceSettings


class NotificationsSettings(ServiceSettings, DatabaseSettings, RedisSettings, BrokerSettings):
    service_name: str = "notifications"
    http_port: int = 8003
    db_schema: str = "notifications"
