"""The one settings class of the gateway service (environment variables, upper case)."""

from __future__ import annotations

from common.settings import RedisSettings, ServiceSettings


class GatewaySettings(ServiceSettings, RedisSettings):
    service_name: str = "gateway"
    http_port: int = 8000
