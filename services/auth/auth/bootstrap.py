"""The composition root: builds everything the use cases need from settings (tests pass fakes).

Key material comes from settings; in ENV=local/test a missing key is generated for this process
(settings refuse that in staging/prod).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from common.database import Database
from common.direct_sql import DirectPool
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from common.redis_client import Cache
from common.session_revocation import RevokedSessions
from messaging.outbox import Outbox
from pydantic import SecretStr

from auth import contracts, tables
from auth.console_provider import ConsoleOtpProvider
from auth.otp_provider import OtpProvider
from auth.otp_state import OtpLimits, OtpState
from auth.phone_crypto import PhoneCipher, generate_key_material, load_phone_keys
from auth.refresh_tokens import RefreshTokenCodec
from auth.session_purge import PurgeConfig
from auth.settings import AuthSettings, OtpProviderName
from auth.signing_keys import KeySet, generate_keyset_config, load_keyset
from auth.twilio_verify import ErrorRecorder, TwilioVerifyProvider

logger = logging.getLogger(__name__)


@dataclass
class AuthDeps:
    settings: AuthSettings
    database: Database
    direct: DirectPool
    otp: OtpState
    provider: OtpProvider
    phones: PhoneCipher
    keyset: KeySet
    refresh_codec: RefreshTokenCodec
    revocations: RevokedSessions
    outbox: Outbox
    verifier: JwtVerifier

    @property
    def revocation_ttl_seconds(self) -> int:
        return int(self.settings.access_token_ttl_seconds + self.settings.jwt_leeway_seconds + 5)


@dataclass(frozen=True)
class KeyMaterial:
    keyset: KeySet
    phones: PhoneCipher
    refresh_codec: RefreshTokenCodec
    generated: list[str]


def load_key_material(settings: AuthSettings) -> KeyMaterial:
    generated: list[str] = []
    if settings.jwt_signing_keys and settings.jwt_active_kid:
        keyset = load_keyset(settings.jwt_signing_keys.get_secret_value(), settings.jwt_active_kid)
    else:
        raw, kid = generate_keyset_config()
        keyset = load_keyset(raw, kid)
        generated.append("JWT_SIGNING_KEYS")
    if settings.phone_encryption_keys and settings.phone_encryption_active_key_id:
        active_id = settings.phone_encryption_active_key_id
        phone_keys = load_phone_keys(
            json.loads(settings.phone_encryption_keys.get_secret_value()), active_id
        )
    else:
        active_id = "local"
        phone_keys = load_phone_keys({active_id: generate_key_material()}, active_id)
        generated.append("PHONE_ENCRYPTION_KEYS")
    lookup = _secret_bytes(settings.phone_lookup_key, "PHONE_LOOKUP_KEY", generated)
    pepper = _secret_bytes(settings.refresh_token_pepper, "REFRESH_TOKEN_PEPPER", generated)
    if generated and settings.env.is_deployed:  # settings refuse this; never generate in prod
        raise RuntimeError(f"missing key material in {settings.env.value}: {generated}")
    return KeyMaterial(
        keyset=keyset,
        phones=PhoneCipher(
            phone_keys, active_id, lookup, _previous_bytes(settings.phone_lookup_keys_previous)
        ),
        refresh_codec=RefreshTokenCodec(
            pepper, _previous_bytes(settings.refresh_token_peppers_previous)
        ),
        generated=generated,
    )


def _secret_bytes(secret: Any, name: str, generated: list[str]) -> bytes:
    if secret is not None:
        return bytes(secret.get_secret_value().encode())
    generated.append(name)
    return secrets.token_bytes(32)


def _previous_bytes(values: list[SecretStr]) -> list[bytes]:
    return [value.get_secret_value().encode() for value in values]


def otp_limits(settings: AuthSettings) -> OtpLimits:
    return OtpLimits(
        max_attempts=settings.otp_max_attempts,
        ttl_seconds=settings.otp_ttl_seconds,
        resend_cooldowns_seconds=list(settings.otp_resend_cooldowns_seconds),
        send_streak_window_seconds=settings.otp_send_streak_window_seconds,
        daily_cap_per_phone=settings.otp_daily_cap_per_phone,
        phone_failure_threshold=settings.otp_phone_failure_threshold,
        phone_failure_window_seconds=settings.otp_phone_failure_window_seconds,
        phone_lock_seconds=settings.otp_phone_lock_seconds,
        ip_start_per_hour=settings.otp_ip_start_per_hour,
        ip_start_burst=settings.otp_ip_start_burst,
        ip_verify_per_hour=settings.otp_ip_verify_per_hour,
        ip_verify_burst=settings.otp_ip_verify_burst,
        sms_budget_per_hour=settings.otp_sms_budget_per_hour,
        sms_budget_burst=settings.otp_sms_budget_burst,
        refresh_per_ip_per_hour=settings.refresh_per_ip_per_hour,
        refresh_ip_burst=settings.refresh_ip_burst,
    )


def purge_config(settings: AuthSettings) -> PurgeConfig:
    return PurgeConfig(
        retention=timedelta(days=settings.session_purge_retention_days),
        interval_seconds=settings.session_purge_interval_seconds,
        batch_size=settings.session_purge_batch_size,
    )


def build_provider(settings: AuthSettings, on_error: ErrorRecorder) -> OtpProvider:
    """The configured provider; call inside the running loop (it opens an HTTP session)."""
    if settings.otp_provider == OtpProviderName.CONSOLE:
        return ConsoleOtpProvider(
            code_length=settings.otp_code_length,
            ttl_seconds=settings.otp_ttl_seconds,
            max_checks=settings.otp_max_attempts,
        )
    if settings.twilio_api_key_sid and settings.twilio_api_key_secret:
        username = settings.twilio_api_key_sid
        password = settings.twilio_api_key_secret.get_secret_value()
        auth_kind = "api_key"
    else:
        assert settings.twilio_auth_token is not None  # enforced by settings
        username = str(settings.twilio_account_sid)
        password = settings.twilio_auth_token.get_secret_value()
        auth_kind = "auth_token"
    return TwilioVerifyProvider.create(
        username=username,
        password=password,
        account_sid=str(settings.twilio_account_sid),
        service_sid=str(settings.twilio_verify_service_sid),
        timeout_seconds=settings.twilio_timeout_seconds,
        api_base=settings.twilio_api_base,
        on_error=on_error,
        diagnostics_info={
            "credentials_present": True,
            "credential_kind": auth_kind,
            "account_sid_prefix": str(settings.twilio_account_sid)[:6],
            "api_base_overridden": bool(settings.twilio_api_base),
        },
    )


def build_deps(
    settings: AuthSettings,
    database: Database,
    direct: DirectPool,
    cache: Cache,
    keys: KeyMaterial,
    provider: OtpProvider,
    otp: OtpState,
) -> AuthDeps:
    revocations = RevokedSessions(cache.client, cache.keys)
    verifier = JwtVerifier(
        StaticJwks(keys.keyset.jwks()),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
        revocations=revocations,
    )
    return AuthDeps(
        settings=settings,
        database=database,
        direct=direct,
        otp=otp,
        provider=provider,
        phones=keys.phones,
        keyset=keys.keyset,
        refresh_codec=keys.refresh_codec,
        revocations=revocations,
        outbox=Outbox(tables.messaging.outbox, contracts.PUBLISHES),
        verifier=verifier,
    )
