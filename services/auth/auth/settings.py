"""The one settings class of the auth service (environment variables, upper case).

Secrets and keys:

- ``JWT_SIGNING_KEYS``: JSON list of keys, each a JWK with a ``kid`` (``OKP``/Ed25519 or
  ``EC``/P-256; with ``d`` for a key that can sign) or ``{"kid": ..., "pem": "<PKCS8 PEM>"}``.
  Every key is published in the JWKS; ``JWT_ACTIVE_KID`` names the one that signs. Rotation:
  add the new key (published, not active) → wait the JWKS cache TTL → make it active → keep the
  old one published for one access-token lifetime → remove it.
- ``REFRESH_TOKEN_PEPPER``: HMAC key for stored refresh-token hashes (>= 32 bytes, random).
- ``PHONE_ENCRYPTION_KEYS``: JSON ``{"<key id>": "<base64url 32 bytes>"}`` (AES-256-GCM);
  ``PHONE_ENCRYPTION_ACTIVE_KEY_ID`` encrypts new rows, the others still decrypt.
  ``PHONE_LOOKUP_KEY``: HMAC key of the phone lookup hash (>= 32 bytes, random).
- ``REFRESH_TOKEN_PEPPERS_PREVIOUS`` / ``PHONE_LOOKUP_KEYS_PREVIOUS``: JSON lists of earlier
  values of those two, still accepted for lookups while a rotation is under way (a row found
  through one is rewritten under the current value). Held to the same rules as the current
  values. Rotation steps: services/auth/README.md, "Rotating the refresh-token pepper…".

In ``local``/``test`` missing keys are generated at startup (per process); in ``staging``/
``prod`` every one of them must be configured and strong, or the service refuses to start.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Self

from common.jwt_settings import JwtVerificationSettings
from common.settings import (
    DatabaseSettings,
    Environment,
    RedisSettings,
    ServiceSettings,
)
from messaging.settings import MessagingSettings
from pydantic import Field, SecretStr, model_validator

from auth.phone_crypto import PhoneKeyError, load_phone_keys
from auth.signing_keys import SigningKeyError, load_keyset

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
_VERIFY_SID = re.compile(r"^VA[0-9a-fA-F]{32}$")
MIN_SECRET_BYTES = 32


class OtpProviderName(StrEnum):
    TWILIO_VERIFY = "twilio_verify"
    CONSOLE = "console"


class AuthSettings(
    ServiceSettings, DatabaseSettings, RedisSettings, MessagingSettings, JwtVerificationSettings
):
    service_name: str = "auth"
    http_port: int = 8001
    db_schema: str = "auth"

    # --- OTP provider (no default: an unset provider refuses to start everywhere)
    otp_provider: OtpProviderName | None = None
    twilio_account_sid: str | None = None
    twilio_api_key_sid: str | None = None
    twilio_api_key_secret: SecretStr | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_verify_service_sid: str | None = None
    twilio_api_base: str | None = None
    twilio_timeout_seconds: float = Field(default=6.0, gt=0, le=30)

    # --- OTP rules and limits
    otp_code_length: int = Field(default=6, ge=4, le=10)
    otp_ttl_seconds: int = Field(default=600, ge=60, le=600)
    otp_max_attempts: int = Field(default=5, ge=1, le=5)
    otp_allowed_country_codes: list[str] = Field(default_factory=lambda: ["1"])
    otp_resend_cooldowns_seconds: list[int] = Field(default_factory=lambda: [30, 60, 120, 300])
    otp_send_streak_window_seconds: int = Field(default=3600, ge=60)
    otp_daily_cap_per_phone: int = Field(default=10, ge=1)
    otp_phone_failure_threshold: int = Field(default=10, ge=2)
    otp_phone_failure_window_seconds: int = Field(default=3600, ge=60)
    otp_phone_lock_seconds: int = Field(default=3600, ge=60)
    otp_ip_start_per_hour: int = Field(default=30, ge=1)
    otp_ip_start_burst: int = Field(default=10, ge=1)
    otp_ip_verify_per_hour: int = Field(default=120, ge=1)
    otp_ip_verify_burst: int = Field(default=30, ge=1)
    otp_sms_budget_per_hour: int = Field(default=2000, ge=1)
    otp_sms_budget_burst: int = Field(default=200, ge=1)
    refresh_per_ip_per_hour: int = Field(default=600, ge=1)
    refresh_ip_burst: int = Field(default=60, ge=1)
    client_ip_header: str = "X-Nerava-Client-Ip"

    # --- tokens and sessions
    jwt_signing_keys: SecretStr | None = None
    jwt_active_kid: str | None = None
    access_token_ttl_seconds: int = Field(default=600, ge=60, le=900)
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=3600)
    session_max_lifetime_seconds: int = Field(default=90 * 86400, ge=3600)
    refresh_grace_seconds: int = Field(default=20, ge=0, le=60)
    refresh_token_pepper: SecretStr | None = None
    refresh_token_peppers_previous: list[SecretStr] = Field(default_factory=list, max_length=4)

    # --- personal data
    phone_encryption_keys: SecretStr | None = None
    phone_encryption_active_key_id: str | None = None
    phone_lookup_key: SecretStr | None = None
    phone_lookup_keys_previous: list[SecretStr] = Field(default_factory=list, max_length=4)

    # --- housekeeping: dead login sessions (and their refresh tokens) are deleted once they
    # expired or were revoked more than the retention ago. Until then a token of such a session
    # still answers session_expired / session_revoked rather than refresh_token_invalid; the
    # default equals REFRESH_TOKEN_TTL_SECONDS, so every token a revoked session ever issued has
    # expired on its own before its row goes.
    session_purge_enabled: bool = True
    session_purge_retention_days: float = Field(default=30.0, ge=1, le=3650)
    session_purge_interval_seconds: float = Field(default=3600.0, ge=1, le=86400)
    session_purge_batch_size: int = Field(default=200, ge=1, le=5000)

    @model_validator(mode="after")
    def _refuse_unusable_provider(self) -> Self:
        """Refused in every environment, not only deployed ones."""
        problems = self.provider_problems()
        if self.otp_provider == OtpProviderName.CONSOLE and self.env != Environment.LOCAL:
            problems.append("OTP_PROVIDER=console: only allowed with ENV=local")
        if problems and not self.env.is_deployed:
            raise ValueError("refusing to start: " + "; ".join(problems))
        return self

    def provider_problems(self) -> list[str]:
        provider = getattr(self, "otp_provider", None)
        if provider is None:
            return ["OTP_PROVIDER: must be set explicitly (twilio_verify or console)"]
        if provider != OtpProviderName.TWILIO_VERIFY:
            return []
        problems = []
        if not self.twilio_account_sid or not _ACCOUNT_SID.match(self.twilio_account_sid):
            problems.append("TWILIO_ACCOUNT_SID: required, 'AC' + 32 hex characters")
        if not self.twilio_verify_service_sid or not _VERIFY_SID.match(
            self.twilio_verify_service_sid
        ):
            problems.append("TWILIO_VERIFY_SERVICE_SID: required, 'VA' + 32 hex characters")
        has_key = bool(self.twilio_api_key_sid and self.twilio_api_key_secret)
        if self.twilio_api_key_sid and not _API_KEY_SID.match(self.twilio_api_key_sid):
            problems.append("TWILIO_API_KEY_SID: must be 'SK' + 32 hex characters")
        if not has_key and not self.twilio_auth_token:
            problems.append(
                "TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET (or TWILIO_AUTH_TOKEN): credentials "
                "are required"
            )
        return problems

    def unsafe_settings(self) -> list[str]:
        problems = super().unsafe_settings()
        problems.extend(self.provider_problems())
        provider = getattr(self, "otp_provider", None)
        if provider == OtpProviderName.CONSOLE:
            problems.append("OTP_PROVIDER=console: the console provider is for ENV=local only")
        if self.twilio_api_base:
            problems.append("TWILIO_API_BASE: must be unset (it points the SDK away from Twilio)")
        problems.extend(self._key_problems())
        return problems

    def _key_problems(self) -> list[str]:
        problems: list[str] = []
        others = {self.database_url, self.redis_url, self.rabbitmq_url}
        if not self.jwt_signing_keys or not self.jwt_active_kid:
            problems.append("JWT_SIGNING_KEYS/JWT_ACTIVE_KID: required (EdDSA or ES256 keys)")
        else:
            problem = _signing_keys_problem(self.jwt_signing_keys, self.jwt_active_kid)
            if problem:
                problems.append(f"JWT_SIGNING_KEYS: {problem}")
        problems.extend(self._hmac_secret_problems(others))
        if not self.phone_encryption_keys or not self.phone_encryption_active_key_id:
            problems.append(
                "PHONE_ENCRYPTION_KEYS/PHONE_ENCRYPTION_ACTIVE_KEY_ID: required (AES-256 keys)"
            )
        else:
            problem = _encryption_keys_problem(
                self.phone_encryption_keys, self.phone_encryption_active_key_id
            )
            if problem:
                problems.append(f"PHONE_ENCRYPTION_KEYS: {problem}")
        return problems

    def _hmac_secret_problems(self, others: set[str]) -> list[str]:
        """The current and previous peppers / lookup keys: each strong, none used twice."""
        problems: list[str] = []
        seen: dict[str, str] = {}
        families = (
            ("REFRESH_TOKEN_PEPPER", self.refresh_token_pepper),
            ("PHONE_LOOKUP_KEY", self.phone_lookup_key),
        )
        previous = (
            ("REFRESH_TOKEN_PEPPERS_PREVIOUS", self.refresh_token_peppers_previous),
            ("PHONE_LOOKUP_KEYS_PREVIOUS", self.phone_lookup_keys_previous),
        )
        named: list[tuple[str, SecretStr | None]] = list(families)
        for name, values in previous:
            named.extend((f"{name}[{i}]", value) for i, value in enumerate(values))
        for name, secret in named:
            problem = secret_problem(secret, others)
            if problem:
                problems.append(f"{name}: {problem}")
            if secret is None:
                continue
            first = seen.setdefault(secret.get_secret_value(), name)
            if first != name:
                problems.append(f"{name}: must differ from {first} (one value, one purpose)")
        return problems


def secret_problem(secret: SecretStr | None, others: set[str]) -> str | None:
    """Why a configured HMAC secret is unusable, or None."""
    if secret is None:
        return "required"
    value = secret.get_secret_value()
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"must be at least {MIN_SECRET_BYTES} bytes from a CSPRNG"
    if len(set(value)) < 16:
        return "looks like a password or a repeated pattern, not random bytes"
    if value in others or "://" in value:
        return "must not be a URL or reuse another setting"
    return None


def _signing_keys_problem(raw: SecretStr, active_kid: str) -> str | None:
    try:
        load_keyset(raw.get_secret_value(), active_kid)
    except SigningKeyError as exc:
        return str(exc)
    return None


def _encryption_keys_problem(raw: SecretStr, active_id: str) -> str | None:
    try:
        load_phone_keys(json.loads(raw.get_secret_value()), active_id)
    except (PhoneKeyError, ValueError) as exc:
        return str(exc)
    return None
