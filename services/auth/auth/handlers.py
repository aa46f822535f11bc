"""OTP sign-in use cases: start (send a code) and verify (check it, open a session).

Every outcome has its own error (``auth.errors``); a provider failure is never reported as a
wrong code and never costs the user an attempt. Limits are decided in Redis before the
provider is called (a phone under a verification lock gets the lock's 429 and no SMS); the
per-challenge attempt is counted before the check and refunded when the provider could not
answer.

A check that got no answer (a timeout, a lost connection, a 5xx) may still have been carried
out: Twilio may have approved the code and then forgotten the verification, so a retry of the
same code hears 20404. Such a check is resolved against the provider before answering: the
verification's status is fetched; ``approved``, or gone while our challenge is still pending
and far from its expiry, means this check approved it and the user is signed in. Otherwise
(still pending, or the fetch fails too) the attempt is refunded, the answer is 503 "try it
again", and the challenge remembers a digest of the code; a later check of the same code that
hears 20404 while the challenge is pending is then that approval, not a misconfiguration.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass

from common.errors import InvalidInput

from auth.deps import Deps
from auth.errors import (
    InvalidPhoneNumberError,
    OtpAlreadyUsedError,
    OtpChallengeNotFoundError,
    OtpExpiredError,
    OtpInvalidError,
    OtpMaxAttemptsError,
    OtpProviderUnavailableError,
    OtpResendCooldownError,
    OtpSendBlockedError,
    OtpSendLimitExceededError,
    PhoneRegionUnsupportedError,
    RateLimitedError,
    ServiceMisconfiguredError,
    VerificationLockedError,
)
from auth.otp_outcomes import VerifyAttempt
from auth.otp_provider import (
    MaxChecksReachedError,
    ProviderError,
    ProviderMisconfiguredError,
    ProviderRejectedError,
    ProviderUnavailableError,
    Rejection,
    VerificationNotFoundError,
)
from auth.phone_crypto import EncryptedPhone
from auth.phone_numbers import PhoneNumberError, PhoneRegionError, mask_e164, parse_phone
from auth.session_handlers import SignedIn, open_session

logger = logging.getLogger(__name__)

_CHALLENGE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_REUSE_MIN_REMAINING_MS = 30_000
_PROVIDER_EXPIRY_MARGIN_MS = 5_000


@dataclass(frozen=True)
class OtpStarted:
    challenge_id: str
    expires_in: int
    resend_available_in: int
    code_length: int


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


async def start_otp(deps: Deps, *, phone: str, client_ip: str) -> OtpStarted:
    settings = deps.settings
    try:
        number = parse_phone(phone, settings.otp_allowed_country_codes)
    except PhoneNumberError as exc:
        raise InvalidPhoneNumberError(str(exc)) from None
    except PhoneRegionError as exc:
        raise PhoneRegionUnsupportedError(str(exc)) from None
    phone_hash = deps.phones.lookup_hash(number.e164).hex()
    ref = phone_hash[:12]

    decision = await deps.otp.begin_send(phone_hash, client_ip)
    if decision.outcome == "rate_limited":
        raise RateLimitedError(
            "Too many requests from this network.", retry_after=decision.wait_seconds
        )
    if decision.outcome == "locked":  # no SMS: its code could only fail with the same 429
        raise VerificationLockedError(
            "Too many incorrect codes for this number. Try again later.",
            retry_after=decision.wait_seconds,
        )
    if decision.outcome == "send_limit":
        raise OtpSendLimitExceededError(
            "Too many codes were sent to this number today.", retry_after=decision.wait_seconds
        )
    if decision.outcome == "cooldown":
        raise OtpResendCooldownError(
            "Please wait before requesting another code.", retry_after=decision.wait_seconds
        )
    if decision.outcome == "budget":
        logger.error("sms budget exhausted: sends refused", extra={"phone_ref": ref})
        raise RateLimitedError(
            "Codes cannot be sent right now. Please try again later.",
            retry_after=decision.wait_seconds,
        )

    live = await deps.otp.live_challenge(phone_hash)
    reuse = (
        live is not None
        and live.status == "pending"
        and live.remaining_ms > _REUSE_MIN_REMAINING_MS
        and live.attempts < settings.otp_max_attempts
    )
    try:
        verification_id = await deps.provider.start(number.e164, client_ip=client_ip)
    except ProviderError as exc:
        remaining = live.remaining_ms / 1000 if live is not None and reuse else None
        raise await _start_failure(deps, exc, phone_hash, remaining) from None

    if reuse and live is not None:
        await deps.otp.set_verification(live.challenge_id, verification_id)
        challenge_id, lifetime_ms = live.challenge_id, live.remaining_ms
    else:
        encrypted = deps.phones.encrypt(number.e164)
        challenge_id, lifetime_ms = await deps.otp.create_challenge(
            phone_hash=phone_hash,
            verification_id=verification_id,
            phone_ciphertext=encrypted.ciphertext.hex(),
            phone_key_id=encrypted.key_id,
        )
    logger.info("otp sent", extra={"phone_ref": ref, "resend": reuse})
    return OtpStarted(
        challenge_id=challenge_id,
        expires_in=_seconds(lifetime_ms / 1000),
        resend_available_in=_seconds(decision.wait_seconds),
        code_length=settings.otp_code_length,
    )


async def _start_failure(
    deps: Deps, exc: ProviderError, phone_hash: str, remaining: float | None
) -> Exception:
    if isinstance(exc, ProviderUnavailableError):
        await deps.otp.refund_send(phone_hash)
        return OtpProviderUnavailableError(
            "The verification service is unavailable. Please try again.",
            retry_after=exc.retry_after,
        )
    if isinstance(exc, ProviderRejectedError):
        if exc.reason is Rejection.INVALID_NUMBER:
            await deps.otp.refund_send(phone_hash)
            return InvalidPhoneNumberError("This phone number cannot receive codes.")
        if exc.reason is Rejection.REGION:
            return PhoneRegionUnsupportedError("Sign-in by SMS is not available for this region.")
        if exc.reason is Rejection.BLOCKED:
            return OtpSendBlockedError("We can't send a code to this number right now.")
        if exc.reason is Rejection.SEND_LIMIT:
            return OtpSendLimitExceededError(
                "Too many codes were requested for this number.",
                retry_after=remaining or deps.settings.otp_ttl_seconds,
            )
    await deps.otp.refund_send(phone_hash)
    return ServiceMisconfiguredError("Sign-in is temporarily unavailable.", retry_after=30)


async def verify_otp(deps: Deps, *, challenge_id: str, code: str, client_ip: str) -> SignedIn:
    length = deps.settings.otp_code_length
    if len(code) != length or not code.isascii() or not code.isdigit():
        raise InvalidInput(f"The code must be exactly {length} digits.")
    if not _CHALLENGE_ID.match(challenge_id):
        raise OtpChallengeNotFoundError("This verification does not exist. Request a new code.")

    attempt = await deps.otp.begin_verify(challenge_id, client_ip)
    _raise_for_refusal(attempt, challenge_id)
    try:
        approved = await deps.provider.check(verification_id=attempt.verification_id, code=code)
    except ProviderUnavailableError as exc:
        approved = await _resolve_unanswered_check(deps, exc, attempt, challenge_id, code)
    except ProviderError as exc:
        failure = await _check_failure(deps, exc, attempt, challenge_id, code)
        if failure is not None:
            raise failure from None
        approved = True  # an earlier unanswered check of this code was the approval
    if not approved:
        raise await _wrong_code(deps, attempt, challenge_id)
    if not await deps.otp.approved(challenge_id, attempt.phone_hash):
        raise OtpAlreadyUsedError("This code was already used.", challenge_id=challenge_id)

    encrypted = EncryptedPhone(
        key_id=attempt.phone_key_id, ciphertext=bytes.fromhex(attempt.phone_ciphertext)
    )
    phone = deps.phones.decrypt(encrypted)
    phone_masked = mask_e164(phone)
    phone_hash = bytes.fromhex(attempt.phone_hash)
    if deps.phones.lookup_key_rotating:  # the challenge may carry another key's hash
        phone_hash = deps.phones.lookup_hash(phone)
    try:
        return await open_session(
            deps,
            phone_hash=phone_hash,
            encrypted_phone=encrypted,
            phone_masked=phone_masked,
        )
    except Exception:
        # Tokens were not issued: the approved code is spent (Twilio forgot it), so the
        # challenge reads as expired and the user requests a new code.
        await deps.otp.mark_spent(challenge_id)
        raise


def _raise_for_refusal(attempt: VerifyAttempt, challenge_id: str) -> None:
    outcome = attempt.outcome
    if outcome == "ok":
        return
    if outcome == "rate_limited":
        raise RateLimitedError(
            "Too many verification requests from this network.", retry_after=attempt.wait_seconds
        )
    if outcome == "not_found":
        raise OtpChallengeNotFoundError("This verification does not exist. Request a new code.")
    if outcome == "already_used":
        raise OtpAlreadyUsedError("This code was already used.", challenge_id=challenge_id)
    if outcome == "expired":
        raise OtpExpiredError(
            "This code has expired. Request a new one.", challenge_id=challenge_id
        )
    if outcome == "locked":
        raise VerificationLockedError(
            "Too many incorrect codes for this number. Try again later.",
            retry_after=attempt.wait_seconds,
        )
    raise OtpMaxAttemptsError(
        "Too many incorrect codes. Request a new code.",
        retry_after=max(1.0, attempt.wait_seconds),
        attempts_remaining=0,
        challenge_id=challenge_id,
    )


def _code_digest(challenge_id: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()[:32]


async def _resolve_unanswered_check(
    deps: Deps,
    exc: ProviderUnavailableError,
    attempt: VerifyAttempt,
    challenge_id: str,
    code: str,
) -> bool:
    """True when the check that got no answer approved the code; raises otherwise."""
    try:
        status = await deps.provider.status(attempt.verification_id)
    except VerificationNotFoundError:
        status = "gone"
    except ProviderError:
        status = "unknown"
    ours = await deps.otp.challenge_status(challenge_id)
    far_from_expiry = attempt.remaining_ms > _PROVIDER_EXPIRY_MARGIN_MS
    if ours == "pending" and (status == "approved" or (status == "gone" and far_from_expiry)):
        logger.info("unanswered otp check resolved: approved", extra={"verify_status": status})
        return True
    if ours == "pending" and status in ("pending", "unknown"):
        await deps.otp.note_unanswered_check(challenge_id, _code_digest(challenge_id, code))
        await deps.otp.refund_attempt(challenge_id)
        raise OtpProviderUnavailableError(
            "The verification service is unavailable. Your code was not used; try it again.",
            retry_after=exc.retry_after,
        ) from None
    if status == "max_attempts_reached":
        failure = await _check_failure(
            deps, MaxChecksReachedError(status), attempt, challenge_id, code
        )
    else:  # our challenge closed meanwhile, or the provider's verification ended
        failure = await _resolve_not_found(deps, attempt, challenge_id, code)
    if failure is None:
        return True
    raise failure from None


async def _check_failure(
    deps: Deps, exc: ProviderError, attempt: VerifyAttempt, challenge_id: str, code: str
) -> Exception | None:
    """The error to answer for a failed check; None when the check was in fact approved."""
    if isinstance(exc, MaxChecksReachedError):
        await deps.otp.exhaust(challenge_id, attempt.phone_hash)
        return OtpMaxAttemptsError(
            "Too many incorrect codes. Request a new code.",
            retry_after=max(1.0, await deps.otp.cooldown_seconds(attempt.phone_hash)),
            attempts_remaining=0,
            challenge_id=challenge_id,
        )
    if isinstance(exc, VerificationNotFoundError):
        return await _resolve_not_found(deps, attempt, challenge_id, code)
    await deps.otp.refund_attempt(challenge_id)
    if isinstance(exc, ProviderUnavailableError):
        return OtpProviderUnavailableError(
            "The verification service is unavailable. Your code was not used; try it again.",
            retry_after=exc.retry_after,
        )
    if isinstance(exc, ProviderRejectedError) and exc.reason is Rejection.INVALID_CODE_FORMAT:
        return InvalidInput(f"The code must be exactly {deps.settings.otp_code_length} digits.")
    assert isinstance(exc, ProviderMisconfiguredError | ProviderRejectedError)
    return ServiceMisconfiguredError("Sign-in is temporarily unavailable.", retry_after=30)


async def _resolve_not_found(
    deps: Deps, attempt: VerifyAttempt, challenge_id: str, code: str
) -> Exception | None:
    """Twilio 20404 on a check, explained by our own challenge state; None when an earlier
    check of this same code got no answer: the provider approved it then."""
    status = await deps.otp.challenge_status(challenge_id)
    if status == "approved":
        return OtpAlreadyUsedError("This code was already used.", challenge_id=challenge_id)
    if status == "exhausted":  # a concurrent guess closed it and cancelled the verification
        return OtpMaxAttemptsError(
            "Too many incorrect codes. Request a new code.",
            retry_after=max(1.0, await deps.otp.cooldown_seconds(attempt.phone_hash)),
            attempts_remaining=0,
            challenge_id=challenge_id,
        )
    if status in (None, "spent") or attempt.remaining_ms <= _PROVIDER_EXPIRY_MARGIN_MS:
        return OtpExpiredError(
            "This code has expired. Request a new one.", challenge_id=challenge_id
        )
    if await deps.otp.unanswered_check(challenge_id) == _code_digest(challenge_id, code):
        logger.info("unanswered otp check resolved on retry: approved")
        return None
    await deps.otp.refund_attempt(challenge_id)
    logger.error(
        "provider lost a live verification (20404): check the Verify service SID and code TTL",
        extra={"challenge_status": status, "remaining_ms": attempt.remaining_ms},
    )
    return ServiceMisconfiguredError("Sign-in is temporarily unavailable.", retry_after=30)


async def _wrong_code(deps: Deps, attempt: VerifyAttempt, challenge_id: str) -> Exception:
    decision = await deps.otp.wrong_code(challenge_id, attempt.phone_hash)
    if decision.outcome == "invalid":
        return OtpInvalidError(
            "The code is incorrect.",
            attempts_remaining=decision.remaining,
            challenge_id=challenge_id,
        )
    await _cancel_quietly(deps, attempt.verification_id)
    if decision.outcome == "locked":
        return VerificationLockedError(
            "Too many incorrect codes for this number. Try again later.",
            retry_after=decision.wait_seconds,
            attempts_remaining=0,
        )
    return OtpMaxAttemptsError(
        "Too many incorrect codes. Request a new code.",
        retry_after=max(1.0, decision.wait_seconds),
        attempts_remaining=0,
        challenge_id=challenge_id,
    )


async def _cancel_quietly(deps: Deps, verification_id: str) -> None:
    """A closed challenge's code must not stay usable at the provider; failure is only logged."""
    try:
        await deps.provider.cancel(verification_id)
    except ProviderError as exc:
        logger.warning(
            "could not cancel a closed verification", extra={"outcome": type(exc).__name__}
        )
