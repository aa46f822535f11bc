"""The one settings class of the payments service (environment variables, upper case)."""

from __future__ import annotations

from common.service import ConnectedServiceSettings
from messaging.settings import MessagingSettings


class PaymentsSettings(ConnectedServiceSettings, MessagingSettings):
    service_name: str = "payments"
    http_port: int = 8004
    db_schema: str = "payments"
