"""The one settings class of the sessions service (environment variables, upper case)."""

from __future__ import annotations

from common.service import ConnectedServiceSettings
from messaging.settings import MessagingSettings


class SessionsSettings(ConnectedServiceSettings, MessagingSettings):
    service_name: str = "sessions"
    http_port: int = 8002
    db_schema: str = "sessions"
