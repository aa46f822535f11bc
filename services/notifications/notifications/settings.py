"""The one settings class of the notifications service (environment variables, upper case)."""

from __future__ import annotations

from common.jwt_settings import JwtVerificationSettings
from common.messaging.settings import MessagingSettings
from common.settings import DatabaseSettings, RedisSettings, ServiceSettings


class NotificationsSettings(
    ServiceSettings,
    DatabaseSettings,
    RedisSettings,
    MessagingSettings,
    JwtVerificationSettings,
):
    service_name: str = "notifications"
    http_port: int = 8003
    db_schema: str = "notifications"
