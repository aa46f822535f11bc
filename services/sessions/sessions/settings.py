"""The one settings class of the sessions service (environment variables, upper case).

Keys:

- ``PHONE_ENCRYPTION_KEYS``: JSON ``{"<key id>": "<base64url 32 bytes>"}`` (AES-256-GCM) for
  merchants' notification phones; ``PHONE_ENCRYPTION_ACTIVE_KEY_ID`` encrypts new values.
- ``PHONE_LOOKUP_KEY``: HMAC key of the phone lookup hash (>= 32 random bytes).

In ``local``/``test`` missing keys are generated per process; in ``staging``/``prod`` they
must be configured, or the service refuses to start.
"""

from __future__ import annotations

import json
from typing import Self

from common.service import ConnectedServiceSettings
from messaging.settings import MessagingSettings
from pydantic import Field, SecretStr, model_validator

from sessions.phone_crypto import PhoneKeyError, load_phone_keys

MIN_SECRET_BYTES = 32


class SessionsSettings(ConnectedServiceSettings, MessagingSettings):
    service_name: str = "sessions"
    http_port: int = 8002
    db_schema: str = "sessions"

    # --- exclusive sessions
    session_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    """How long an activated session stays open (its `expires_at`)."""
    walking_distance_m: float = Field(default=800.0, gt=0, le=5_000)
    """Merchants farther than this from a charger are not offered there, nor activatable."""
    stuck_after_seconds: int = Field(default=900, ge=30, le=86_400)
    """An arrived session with no merchant answer this long gets one re-notification; after as
    long again it expires with reason ``merchant_no_response``."""

    outbox_gather_seconds: float = Field(default=0.01, ge=0, le=1)
    """After an outbox NOTIFY the relay waits this long, so the activations committed meanwhile
    are claimed and published together (one claim per burst, not one or more per request)."""

    # --- merchants (billing amounts in minor units, validated when a merchant is saved)
    billing_amount_min_minor: int = Field(default=50, ge=1)
    """Smallest `billing_amount_minor` a merchant may be saved with."""
    billing_amount_max_minor: int = Field(default=10_000, ge=1)
    """Largest `billing_amount_minor` a merchant may be saved with."""
    billing_currencies: list[str] = Field(default_factory=lambda: ["USD"], min_length=1)
    """ISO 4217 currencies merchants may be billed in."""
    reward_nova_max: int = Field(default=10_000, ge=0)
    """Largest `reward_nova` a merchant may offer per session."""
    notification_phone_country_codes: list[str] = Field(default_factory=lambda: ["1"])
    """Country calling codes accepted for merchants' notification phones."""

    # --- chargers
    nearby_max_radius_m: float = Field(default=50_000.0, gt=0, le=200_000)
    """Cap on `radius_m` of `GET /v1/chargers/nearby`."""
    nearby_max_limit: int = Field(default=50, ge=1, le=500)
    """Cap on `limit` of `GET /v1/chargers/nearby`."""
    import_max_chargers: int = Field(default=5_000, ge=1, le=50_000)
    """Most chargers one import call may carry (more: 413)."""

    # --- housekeeping (every replica; claims are FOR UPDATE SKIP LOCKED)
    housekeeping_enabled: bool = True
    """Run the expiry and stuck-session rounds in this replica (every replica may)."""
    housekeeping_interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    """Interval between housekeeping rounds (with jitter; a full batch runs the next at once)."""
    housekeeping_batch_size: int = Field(default=200, ge=1, le=5_000)
    """Sessions one housekeeping round claims at most."""

    # --- personal data
    phone_encryption_keys: SecretStr | None = None
    """JSON `{"<key id>": "<base64url 32 bytes>"}` (AES-256-GCM) for notification phones."""
    phone_encryption_active_key_id: str | None = None
    """The key id of `PHONE_ENCRYPTION_KEYS` that encrypts new phones."""
    phone_lookup_key: SecretStr | None = None
    """HMAC key of the notification phones' lookup hash (>= 32 random bytes)."""

    @model_validator(mode="after")
    def _consistent_ranges(self) -> Self:
        if self.billing_amount_min_minor > self.billing_amount_max_minor:
            raise ValueError("BILLING_AMOUNT_MIN_MINOR must not exceed BILLING_AMOUNT_MAX_MINOR")
        for currency in self.billing_currencies:
            if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                raise ValueError("BILLING_CURRENCIES: ISO 4217 codes, e.g. USD")
        return self

    def unsafe_settings(self) -> list[str]:
        problems = super().unsafe_settings()
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
        if lookup is None or len(lookup.get_secret_value().encode()) < MIN_SECRET_BYTES:
            problems.append(f"PHONE_LOOKUP_KEY: required, at least {MIN_SECRET_BYTES} bytes")
        elif len(set(lookup.get_secret_value())) < 16:
            problems.append("PHONE_LOOKUP_KEY: looks like a password, not random bytes")
        return problems
