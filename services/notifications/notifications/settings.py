"""The one settings class of the notifications service (environment variables, upper case).

SMS sending:

- ``SMS_SENDER``: ``twilio`` or ``console`` (``local``/``test`` only: logs a masked line instead
  of sending). Unset means ``console`` in ``local``/``test``; elsewhere it must be ``twilio``.
- ``TWILIO_ACCOUNT_SID`` with ``TWILIO_AUTH_TOKEN`` (also the key that signs Twilio's
  webhooks), ``TWILIO_MESSAGING_SERVICE_SID`` or ``TWILIO_FROM_NUMBER``, and
  ``PUBLIC_BASE_URL`` (the gateway's public origin: status-callback URLs are built under it and
  webhook signatures are checked against the URL the gateway reports). ``TWILIO_API_BASE``
  points the SDK at the fake Twilio (``local``/``test`` only).
- ``PHONE_ENCRYPTION_KEYS`` (JSON ``{"<key id>": "<base64url 32 bytes>"}``, AES-256-GCM) with
  ``PHONE_ENCRYPTION_ACTIVE_KEY_ID``, and ``PHONE_LOOKUP_KEY`` (HMAC key of the lookup hash).
  Generated per process in ``local``/``test`` when missing; required elsewhere.

Analytics forwarding (off by default: the sink then only stores what it keeps):
``POSTHOG_FORWARDING=true`` with ``POSTHOG_HOST`` and ``POSTHOG_PROJECT_API_KEY`` (refused
without them, in every environment; https outside ``local``/``test``).

The retry schedule of ``notifications.sms.send`` is ``5s, 30s, 2m, 10m, 30m`` then the DLQ
(``RETRY_SCHEDULES`` overrides it). It also spaces the re-sends of an SMS Twilio reports
undelivered with a retryable carrier code (one per tier, then ``sms_failed``); the re-sends go
through ``notifications.sms.resend``, with the same schedule by default.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Self
from urllib.parse import urlsplit

from common.service import ConnectedServiceSettings
from messaging.settings import MessagingSettings
from pydantic import Field, SecretStr, model_validator

from notifications.phone_vault import PhoneKeyError, load_phone_keys

SEND_QUEUE = "notifications.sms.send"
RESEND_QUEUE = "notifications.sms.resend"  # re-sends of undelivered SMS (notifications' own)
SMS_SCHEDULE = ["5s", "30s", "2m", "10m", "30m"]
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MIN_SECRET_BYTES = 32


class SmsSenderName(StrEnum):
    TWILIO = "twilio"
    CONSOLE = "console"


class NotificationsSettings(ConnectedServiceSettings, MessagingSettings):
    service_name: str = "notifications"
    http_port: int = 8003
    db_schema: str = "notifications"
    retry_schedules: dict[str, list[str]] = Field(
        default_factory=lambda: {SEND_QUEUE: list(SMS_SCHEDULE), RESEND_QUEUE: list(SMS_SCHEDULE)}
    )
    # Sends in flight per process (the prefetch is the concurrency). A send holds no database
    # connection while Twilio answers, so this is well above the pools. Retries of sends
    # (``notifications.sms.send.retry``) run one at a time: a retry (lookup, send, three
    # transactions) costs several fresh sends' CPU, and each one in parallel slowed fresh SMS
    # in bench.notifications' retry storm; raise it to drain a backlog faster.
    queue_prefetch: dict[str, int] = Field(default_factory=lambda: {SEND_QUEUE: 48})
    queue_retry_prefetch: dict[str, int] = Field(default_factory=lambda: {SEND_QUEUE: 1})

    # --- SMS
    sms_sender: SmsSenderName | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str | None = None
    twilio_timeout_seconds: float = Field(default=10.0, gt=0, le=30)
    twilio_lookup_limit: int = Field(default=50, ge=1, le=1000)
    sms_validity_seconds: int = Field(default=900, ge=60, le=36_000)
    public_base_url: str | None = None
    # An attempt still "sending" after this long was cut off (a crash): reconcile it.
    send_attempt_lease_seconds: float = Field(default=60.0, gt=0, le=900)
    # Replies match deliveries sent to that phone within this window.
    reply_window_seconds: int = Field(default=6 * 3600, ge=60)

    # --- analytics sink (lossy queue notifications.analytics: the oldest are dropped when full)
    analytics_queue_max_length: int = Field(default=100_000, ge=1, le=10_000_000)
    analytics_prefetch: int = Field(default=100, ge=1, le=1000)
    posthog_forwarding: bool = Field(
        default=False,
        description="forward the analytics events the sink keeps to PostHog (needs the two below)",
    )
    posthog_host: str | None = Field(
        default=None, description="PostHog ingestion host, e.g. `https://eu.i.posthog.com`"
    )
    posthog_project_api_key: SecretStr | None = Field(
        default=None, description="the PostHog project's API key (`phc_…`)"
    )
    posthog_max_queue_size: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="events the PostHog client buffers; when full, new ones are dropped (counted)",
    )
    posthog_flush_interval_seconds: float = Field(
        default=5.0, gt=0, le=60, description="longest wait before a partial batch is uploaded"
    )
    posthog_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="deadline of each upload to PostHog"
    )
    posthog_max_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="retries of a failed upload; then its events are dropped",
    )

    # --- personal data
    phone_encryption_keys: SecretStr | None = None
    phone_encryption_active_key_id: str | None = None
    phone_lookup_key: SecretStr | None = None

    @property
    def sender(self) -> SmsSenderName:
        """The sender in effect: unset means the console one, which only local/test allow."""
        return self.sms_sender or SmsSenderName.CONSOLE

    @model_validator(mode="after")
    def _refuse_unusable_sender(self) -> Self:
        """An incomplete Twilio or PostHog configuration is refused in every environment."""
        problems = self.sender_problems() + self.posthog_problems()
        if problems and not self.env.is_deployed:
            raise ValueError("refusing to start: " + "; ".join(problems))
        return self

    def sender_problems(self) -> list[str]:
        if self.sender is not SmsSenderName.TWILIO:
            return []
        problems = []
        if not self.twilio_account_sid or not _ACCOUNT_SID.match(self.twilio_account_sid):
            problems.append("TWILIO_ACCOUNT_SID: required, 'AC' + 32 hex characters")
        if not self.twilio_auth_token:
            problems.append("TWILIO_AUTH_TOKEN: required (it also signs Twilio's webhooks)")
        service, sender = self.twilio_messaging_service_sid, self.twilio_from_number
        if not service and not sender:
            problems.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER: one is required")
        if service and not _SERVICE_SID.match(service):
            problems.append("TWILIO_MESSAGING_SERVICE_SID: must be 'MG' + 32 hex characters")
        if sender and not _E164.match(sender):
            problems.append("TWILIO_FROM_NUMBER: must be an E.164 number")
        problems.extend(self._public_url_problems())
        return problems

    def _public_url_problems(self) -> list[str]:
        if not self.public_base_url:
            return ["PUBLIC_BASE_URL: required (status callbacks and webhook signatures)"]
        parts = urlsplit(self.public_base_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
        ):
            return ["PUBLIC_BASE_URL: must be an origin such as https://api.nerava.app"]
        return []

    def posthog_problems(self) -> list[str]:
        if not self.posthog_forwarding:
            return []
        problems = []
        parts = urlsplit(self.posthog_host or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append("POSTHOG_HOST: required with POSTHOG_FORWARDING, an http(s) URL")
        if not self.posthog_project_api_key:
            problems.append("POSTHOG_PROJECT_API_KEY: required with POSTHOG_FORWARDING")
        return problems

    def unsafe_settings(self) -> list[str]:
        problems = super().unsafe_settings()
        problems.extend(self.posthog_problems())
        if (
            self.posthog_forwarding
            and self.posthog_host
            and not self.posthog_host.startswith("https://")
        ):
            problems.append("POSTHOG_HOST: must be https outside local/test")
        if self.sender is not SmsSenderName.TWILIO:
            problems.append("SMS_SENDER: must be twilio (the console sender is for local/test)")
        problems.extend(self.sender_problems())
        if self.twilio_api_base:
            problems.append("TWILIO_API_BASE: must be unset (it points the SDK away from Twilio)")
        if self.public_base_url and not self.public_base_url.startswith("https://"):
            problems.append("PUBLIC_BASE_URL: must be https outside local/test")
        problems.extend(self._key_problems())
        return problems

    def _key_problems(self) -> list[str]:
        problems: list[str] = []
        if not self.phone_encryption_keys or not self.phone_encryption_active_key_id:
            problems.append(
                "PHONE_ENCRYPTION_KEYS/PHONE_ENCRYPTION_ACTIVE_KEY_ID: required (AES-256 keys)"
            )
        else:
            try:
                load_phone_keys(
                    json.loads(self.phone_encryption_keys.get_secret_value()),
                    self.phone_encryption_active_key_id,
                )
            except (PhoneKeyError, ValueError) as exc:
                problems.append(f"PHONE_ENCRYPTION_KEYS: {exc}")
        lookup = self.phone_lookup_key
        if lookup is None:
            problems.append("PHONE_LOOKUP_KEY: required")
        elif len(lookup.get_secret_value().encode()) < MIN_SECRET_BYTES or (
            len(set(lookup.get_secret_value())) < 16
        ):
            problems.append(f"PHONE_LOOKUP_KEY: must be at least {MIN_SECRET_BYTES} random bytes")
        return problems
