"""The signed-in user's account (profile, consent), operator tools and OTP diagnostics."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common.database import Database
from messaging.outbox import Outbox
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from auth import repository as repo
from auth.bootstrap import AuthDeps
from auth.contracts import UserConsentChangedV1, UserRegisteredV1
from auth.errors import DependencyUnavailableError, UserNotFoundError
from auth.phone_crypto import EncryptedPhone, PhoneCipher
from auth.phone_numbers import mask_e164, parse_phone
from auth.settings import OtpProviderName

logger = logging.getLogger(__name__)

ROLES = ("driver", "merchant", "admin")


@dataclass(frozen=True)
class Profile:
    id: uuid.UUID
    role: str
    status: str
    phone_masked: str


@dataclass(frozen=True)
class Consent:
    analytics: bool
    marketing: bool
    policy_version: str | None
    updated_at: datetime | None


def _unavailable(exc: Exception) -> DependencyUnavailableError:
    logger.warning("database unavailable", extra={"error": type(exc).__name__})
    return DependencyUnavailableError("The account service is temporarily unavailable.")


async def get_profile(deps: AuthDeps, user_id: uuid.UUID) -> Profile:
    try:
        async with deps.database.engine.connect() as conn:
            row = await repo.get_profile(conn, user_id)
    except (SQLAlchemyError, OSError) as exc:
        raise _unavailable(exc) from None
    if row is None:
        raise UserNotFoundError("This account no longer exists.")
    phone = deps.phones.decrypt(EncryptedPhone(row.phone_key_id, row.phone_ciphertext))
    return Profile(
        id=row.public_id, role=row.role, status=row.status, phone_masked=mask_e164(phone)
    )


async def get_consent(deps: AuthDeps, user_id: uuid.UUID) -> Consent:
    try:
        async with deps.database.engine.connect() as conn:
            row = await repo.get_profile(conn, user_id)
    except (SQLAlchemyError, OSError) as exc:
        raise _unavailable(exc) from None
    if row is None:
        raise UserNotFoundError("This account no longer exists.")
    return Consent(
        row.analytics_consent,
        row.marketing_consent,
        row.consent_policy_version,
        row.consent_updated_at,
    )


async def set_consent(
    deps: AuthDeps, user_id: uuid.UUID, *, analytics: bool, marketing: bool, policy_version: str
) -> Consent:
    """Records the user's choice; an actual change publishes ``user.consent_changed.v1``."""
    now = datetime.now(UTC)
    try:
        async with deps.database.sessions.begin() as session:
            row = await repo.lock_profile(session, user_id)
            if row is None:
                raise UserNotFoundError("This account no longer exists.")
            unchanged = (
                row.analytics_consent == analytics
                and row.marketing_consent == marketing
                and row.consent_policy_version == policy_version
            )
            if unchanged:
                return Consent(analytics, marketing, policy_version, row.consent_updated_at)
            await repo.set_consent(
                session,
                user_id,
                analytics=analytics,
                marketing=marketing,
                policy_version=policy_version,
                now=now,
            )
            await deps.outbox.add(
                session,
                UserConsentChangedV1(
                    user_id=user_id,
                    analytics=analytics,
                    marketing=marketing,
                    policy_version=policy_version,
                    changed_at=now,
                ),
            )
    except (SQLAlchemyError, OSError) as exc:
        raise _unavailable(exc) from None
    logger.info("consent changed", extra={"user_id": str(user_id)})
    return Consent(analytics, marketing, policy_version, now)


@dataclass(frozen=True)
class PromotedUser:
    id: uuid.UUID
    role: str
    created: bool


async def promote_user(
    database: Database,
    phones: PhoneCipher,
    outbox: Outbox,
    *,
    allowed_country_codes: list[str],
    phone: str,
    role: str,
) -> PromotedUser:
    """Operator tool: creates the user of ``phone`` if needed and gives it ``role``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    number = parse_phone(phone, allowed_country_codes)
    phone_hash = phones.lookup_hash(number.e164)
    now = datetime.now(UTC)
    async with database.sessions.begin() as session:
        if phones.lookup_key_rotating:
            await repo.lock_phone_registrations(session)
            previous = phones.previous_lookup_hashes(number.e164)
            await repo.adopt_phone_hash(session, previous, phone_hash)
        user = await repo.find_user_by_phone(session, phone_hash)
        created = False
        if user is None:
            encrypted = phones.encrypt(number.e164)
            user = await repo.insert_user(
                session,
                public_id=uuid.uuid4(),
                role=role,
                phone_hash=phone_hash,
                phone_ciphertext=encrypted.ciphertext,
                phone_key_id=encrypted.key_id,
            )
            if user is None:
                raise RuntimeError("the user was created concurrently; run the command again")
            created = True
            await outbox.add(
                session, UserRegisteredV1(user_id=user.public_id, role=role, registered_at=now)
            )
        else:
            await repo.set_role(session, user.id, role, now)
    logger.info("user role set", extra={"user_id": str(user.public_id), "role": role})
    return PromotedUser(id=user.public_id, role=role, created=created)


async def set_user_status(deps: AuthDeps, user_id: uuid.UUID, *, disabled: bool) -> None:
    try:
        async with deps.database.engine.begin() as conn:
            found = await repo.set_status(
                conn, user_id, "disabled" if disabled else "active", datetime.now(UTC)
            )
    except (SQLAlchemyError, OSError) as exc:
        raise _unavailable(exc) from None
    if not found:
        raise UserNotFoundError("No such user.")


async def otp_diagnostics(deps: AuthDeps) -> dict[str, Any]:
    """What an operator checks when sign-in fails: never a secret value."""
    settings = deps.settings
    started = time.perf_counter()
    try:
        await deps.otp.ping()
        limiter: dict[str, Any] = {
            "backend": "redis",
            "healthy": True,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        errors = await deps.otp.provider_error_counts()
    except (RedisError, OSError) as exc:
        limiter = {"backend": "redis", "healthy": False, "error": type(exc).__name__}
        errors = {}
    provider = await deps.provider.diagnostics()
    twilio = settings.otp_provider == OtpProviderName.TWILIO_VERIFY
    return {
        "provider": provider.provider,
        "environment": settings.env.value,
        "credentials": {
            "account_sid_present": bool(settings.twilio_account_sid),
            "api_key_present": bool(settings.twilio_api_key_sid and settings.twilio_api_key_secret),
            "auth_token_present": settings.twilio_auth_token is not None,
            "verify_service_sid_present": bool(settings.twilio_verify_service_sid),
        },
        "verify_service_sid_prefix": (
            (settings.twilio_verify_service_sid or "")[:6] if twilio else None
        ),
        "provider_details": provider.details,
        "rate_limit": limiter,
        "signing_keys": {"active_kid": deps.keyset.active.kid, "published": deps.keyset.kids()},
        "provider_errors_24h": errors,
        "limits": {
            "max_attempts": settings.otp_max_attempts,
            "code_ttl_seconds": settings.otp_ttl_seconds,
            "resend_cooldowns_seconds": settings.otp_resend_cooldowns_seconds,
            "daily_cap_per_phone": settings.otp_daily_cap_per_phone,
            "sms_budget_per_hour": settings.otp_sms_budget_per_hour,
        },
    }
