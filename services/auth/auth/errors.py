"""The auth service's error taxonomy (docs/auth.md §2): one class per stable ``code``.

start   400 invalid_phone_number      422 phone_region_unsupported
        429 otp_resend_cooldown       429 otp_send_limit_exceeded     429 rate_limited
        429 verification_locked (the phone is locked: no code is sent)
        403 otp_send_blocked          503 otp_provider_unavailable    503 service_misconfigured
verify  400 validation_failed         401 otp_invalid (+attempts_remaining)
        410 otp_expired               404 otp_challenge_not_found     409 otp_already_used
        429 otp_max_attempts          429 verification_locked         429 rate_limited
        503 otp_provider_unavailable  403 account_disabled
refresh 401 refresh_token_invalid     401 refresh_token_reused        401 session_expired
        401 session_revoked           429 rate_limited
any     503 dependency_unavailable (Redis or Postgres cannot answer: fail closed)
"""

from __future__ import annotations

from common.errors import (
    Conflict,
    DependencyUnavailable,
    Gone,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)


class _NoBearerChallenge(Unauthorized):
    """401s about an OTP or a refresh token, not about a bearer access token."""

    def response_headers(self) -> dict[str, str]:
        return dict(self.headers)


class InvalidPhoneNumberError(InvalidInput):
    code = "invalid_phone_number"
    title = "Invalid phone number"


class PhoneRegionUnsupportedError(Unprocessable):
    code = "phone_region_unsupported"
    title = "Region not supported"


class OtpResendCooldownError(TooManyRequests):
    code = "otp_resend_cooldown"
    title = "Wait before requesting another code"


class OtpSendLimitExceededError(TooManyRequests):
    code = "otp_send_limit_exceeded"
    title = "Too many codes requested"


class RateLimitedError(TooManyRequests):
    code = "rate_limited"
    title = "Too many requests"


class OtpSendBlockedError(PermissionDenied):
    code = "otp_send_blocked"
    title = "A code cannot be sent right now"


class OtpProviderUnavailableError(Unavailable):
    code = "otp_provider_unavailable"
    title = "Verification service unavailable"


class ServiceMisconfiguredError(Unavailable):
    code = "service_misconfigured"
    title = "Service unavailable"


class DependencyUnavailableError(DependencyUnavailable):
    """Redis or Postgres cannot answer (the unit of work raises the common base)."""


class OtpInvalidError(_NoBearerChallenge):
    code = "otp_invalid"
    title = "Incorrect code"


class OtpExpiredError(Gone):
    code = "otp_expired"
    title = "Code expired"


class OtpChallengeNotFoundError(NotFound):
    code = "otp_challenge_not_found"
    title = "Unknown verification"


class OtpAlreadyUsedError(Conflict):
    code = "otp_already_used"
    title = "Code already used"


class OtpMaxAttemptsError(TooManyRequests):
    code = "otp_max_attempts"
    title = "Too many incorrect codes"


class VerificationLockedError(TooManyRequests):
    code = "verification_locked"
    title = "Verification temporarily locked"


class AccountDisabledError(PermissionDenied):
    code = "account_disabled"
    title = "Account disabled"


class RefreshTokenInvalidError(_NoBearerChallenge):
    code = "refresh_token_invalid"
    title = "Invalid refresh token"


class RefreshTokenReusedError(_NoBearerChallenge):
    code = "refresh_token_reused"
    title = "Refresh token reused"


class SessionExpiredError(_NoBearerChallenge):
    code = "session_expired"
    title = "Session expired"


class RefreshSessionRevokedError(_NoBearerChallenge):
    code = "session_revoked"
    title = "Session revoked"


class UserNotFoundError(NotFound):
    code = "user_not_found"
    title = "User not found"
