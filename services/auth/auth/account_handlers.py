"""The signed-in user's account (profile, consent), operator tools and OTP diagnostics."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from auth import repository as repo
from auth.contracts import UserConsentChangedV1, UserRegisteredV1
from auth.deps import Deps
from auth.errors import UserNotFoundError
from auth.phone_crypto import EncryptedPhone
from auth.phone_numbers import mask_e164, parse_phone
from auth.session_handlers import revoke_sessions_in
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


async def get_profile(deps: Deps, user_id: uuid.UUID) -> Profile:
    async with deps.uow() as tx:
        row = await repo.get_profile(tx, user_id)
    if row is None:
        raise UserNotFoundError("This account no longer exists.")
    phone = deps.phones.decrypt(EncryptedPhone(row.phone_key_id, row.phone_ciphertext))
    return Profile(
        id=row.public_id, role=row.role, status=row.status, phone_masked=mask_e164(phone)
    )


async def get_consent(deps: Deps, user_id: uuid.UUID) -> Consent:
    async with deps.uow() as tx:
        row = await repo.get_profile(tx, user_id)
    if row is None:
        raise UserNotFoundError("This account no longer exists.")
    return Consent(
        row.analytics_consent,
        row.marketing_consent,
        row.consent_policy_version,
        row.consent_updated_at,
    )


async def set_consent(
    deps: Deps, user_id: uuid.UUID, *, analytics: bool, marketing: bool, policy_version: str
) -> Consent:
    """Records the user's choice; an actual change publishes ``user.consent_changed.v1``."""
    now = deps.clock()
    async with deps.uow() as tx:
        row = await repo.lock_profile(tx, user_id)
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
            tx,
            user_id,
            analytics=analytics,
            marketing=marketing,
            policy_version=policy_version,
            now=now,
        )
        await deps.outbox.add(
            tx,
            UserConsentChangedV1(
                user_id=user_id,
                analytics=analytics,
                marketing=marketing,
                policy_version=policy_version,
                changed_at=now,
            ),
        )
    logger.info("consent changed", extra={"user_id": str(user_id)})
    return Consent(analytics, marketing, policy_version, now)


@dataclass(frozen=True)
class PromotedUser:
    id: uuid.UUID
    role: str
    created: bool


async def promote_user(deps: Deps, *, phone: str, role: str) -> PromotedUser:
    """Operator tool: creates the user of ``phone`` if needed and gives it ``role``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    phones = deps.phones
    number = parse_phone(phone, deps.settings.otp_allowed_country_codes)
    phone_hash = phones.lookup_hash(number.e164)
    now = deps.clock()
    async with deps.uow() as tx:
        if phones.lookup_key_rotating:
            await repo.lock_phone_registrations(tx)
            previous = phones.previous_lookup_hashes(number.e164)
            await repo.adopt_phone_hash(tx, previous, phone_hash)
        user = await repo.find_user_by_phone(tx, phone_hash)
        created = False
        if user is None:
            encrypted = phones.encrypt(number.e164)
            user = await repo.insert_user(
                tx,
                public_id=uuid.uuid4(),
                role=role,
                phone_hash=phone_hash,
                phone_ciphertext=encrypted.ciphertext,
                phone_key_id=encrypted.key_id,
            )
            if user is None:
                raise RuntimeError("the user was created concurrently; run the command again")
            created = True
            await deps.outbox.add(
                tx, UserRegisteredV1(user_id=user.public_id, role=role, registered_at=now)
            )
        else:
            await repo.set_role(tx, user.id, role, now)
    logger.info("user role set", extra={"user_id": str(user.public_id), "role": role})
    return PromotedUser(id=user.public_id, role=role, created=created)


@dataclass(frozen=True)
class StatusChange:
    id: uuid.UUID
    status: str
    sessions_revoked: int


async def set_user_status(deps: Deps, user_id: uuid.UUID, *, disabled: bool) -> StatusChange:
    """Admin: disables (and signs out everywhere) or re-enables an account, in one transaction;
    the revoked sessions' ids are on the denylist before it commits."""
    status = "disabled" if disabled else "active"
    async with deps.uow() as tx:
        if not await repo.set_status(tx, user_id, status, deps.clock()):
            raise UserNotFoundError("No such user.")
        revoked = 0
        if disabled:
            revoked = await revoke_sessions_in(deps, tx, user_id=user_id, reason="account_disabled")
    logger.info(
        "user status set", extra={"user_id": str(user_id), "status": status, "revoked": revoked}
    )
    return StatusChange(id=user_id, status=status, sessions_revoked=revoked)


async def otp_diagnostics(deps: Deps) -> dict[str, Any]:
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
