"""The fake Twilio account: credentials, Verify service, numbers and webhook targets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

LOCAL_ACCOUNT_SID = "AC" + "0" * 31 + "1"
LOCAL_AUTH_TOKEN = "local-fake-twilio-auth-token-0001"
LOCAL_API_KEY_SID = "SK" + "0" * 31 + "1"
LOCAL_API_KEY_SECRET = "local-fake-twilio-api-key-secret-1"
LOCAL_VERIFY_SERVICE_SID = "VA" + "0" * 31 + "1"
LOCAL_MESSAGING_SERVICE_SID = "MG" + "0" * 31 + "1"
LOCAL_FROM_NUMBER = "+15005550006"

SECRET_FIELDS = ("auth_token", "api_key_secret")


@dataclass
class TwilioFakeConfig:
    account_sid: str = LOCAL_ACCOUNT_SID
    auth_token: str = LOCAL_AUTH_TOKEN
    api_key_sid: str = LOCAL_API_KEY_SID
    api_key_secret: str = LOCAL_API_KEY_SECRET
    verify_service_sid: str = LOCAL_VERIFY_SERVICE_SID
    messaging_service_sid: str = LOCAL_MESSAGING_SERVICE_SID
    from_number: str = LOCAL_FROM_NUMBER
    # Where message status callbacks go when a message names no StatusCallback.
    status_callback_url: str | None = None
    # Where a simulated inbound SMS is POSTed (the number's "A message comes in" webhook).
    inbound_webhook_url: str | None = None
    # The URL used to sign webhooks when it differs from the URL posted to (a public URL
    # behind a proxy); None signs the URL actually requested, as Twilio does.
    signature_url_override: str | None = None
    code_length: int = 6
    code_ttl_seconds: float = 600.0
    # Pause before each status callback (0: right after the message is created).
    callback_delay_seconds: float = 0.0
    max_sends: int = 5
    max_checks: int = 5

    def update(self, data: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Twilio fake settings: {', '.join(sorted(unknown))}")
        for key, value in data.items():
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
