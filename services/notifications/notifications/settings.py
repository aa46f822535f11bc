"""The one settings class of the notifications service (environment variables, upper case)."""

from __future__ import annotations

from common.service_app import ConnectedServiceSettings


class NotificationsSettings(ConnectedServiceSettings):
    service_name: str = "notifications"
    http_port: int = 8003
    db_schema: str = "notifications"
