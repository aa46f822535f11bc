"""The one settings class of the sessions service (environment variables, upper case)."""

from __future__ import annotations

from common.jwt_settings import JwtVerificationSettings
from common.messaging.settings import MessagingSettings
from common.settings import DatabaseSettings, RedisSettings, ServiceSettings


class SessionsSettings(
    ServiceSettings,
    DatabaseSettings,
    RedisSettings,
    MessagingSettings,
    JwtVerificationSettings,
):
    service_name: str = "sessions"
    http_port: int = 8002
    db_schema: str = "sessions"
