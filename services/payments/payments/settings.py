"""The one settings class of the payments service (environment variables, upper case)."""

from __future__ import annotations

from common.settings import BrokerSettings, DatabaseSettings, RedisSettings, ServiceSettings


class PaymentsSettings(ServiceSettings, DatabaseSettings, RedisSettings, BrokerSettings):
    service_name: str = "payments"
    http_port: int = 8004
    db_schema: str = "payments"
