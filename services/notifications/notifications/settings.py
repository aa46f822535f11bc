"""The one settings class of the notifications service (environment variables, upper case)."""

from __future__ import annotations

from common.service import ConnectedServiceSettings
from messaging.settings import MessagingSettings


class NotificationsSettings(ConnectedServiceSettings, MessagingSettings):
    service_name: str = "notifications"
    http_port: int = 8003
    db_schema: str = "notifications"
