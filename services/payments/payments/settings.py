"""The one settings class of the payments service (environment variables, upper case)."""

from __future__ import annotations

from common.jwt_settings import JwtVerificationSettings
from common.messaging.settings import MessagingSettings
from common.settings import DatabaseSettings, RedisSettings, ServiceSettings


class PaymentsSettings(
    ServiceSettings,
    DatabaseSettings,
    RedisSettings,
    MessagingSettings,
    JwtVerificationSettings,
):
    service_name: str = "payments"
    http_port: int = 8004
    db_schema: str = "payments"
