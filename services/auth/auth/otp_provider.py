"""What the OTP use cases need from a verification provider, and its typed outcomes.

A negative result and a failure are different things:

- ``check`` returns ``True`` (approved) or ``False`` (the code is wrong: Twilio's 200/pending);
- every failure is an exception below, and none of them means "wrong code".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ProviderError(Exception):
    """The provider could not complete the operation."""

    def __init__(self, message: str, *, provider_code: int | None = None) -> None:
        super().__init__(message)
        self.provider_code = provider_code


class ProviderUnavailableError(ProviderError):
    """Outage, timeout, transport error, 5xx, or throttling after retries: try again later."""

    def __init__(
        self, message: str, *, provider_code: int | None = None, retry_after: float = 5.0
    ) -> None:
        super().__init__(message, provider_code=provider_code)
        self.retry_after = retry_after


class ProviderMisconfiguredError(ProviderError):
    """Our credentials or service id are wrong: an operator must act."""


class Rejection(StrEnum):
    INVALID_NUMBER = "invalid_number"
    REGION = "region"
    BLOCKED = "blocked"
    SEND_LIMIT = "send_limit"
    INVALID_CODE_FORMAT = "invalid_code_format"


class ProviderRejectedError(ProviderError):
    """The provider refused this request for a reason the user can act on."""

    def __init__(self, reason: Rejection, *, provider_code: int | None = None) -> None:
        super().__init__(f"rejected: {reason.value}", provider_code=provider_code)
        self.reason = reason


class VerificationNotFoundError(ProviderError):
    """Twilio 20404 on a check or a fetch: expired, approved, cancelled or unknown at the
    provider."""


class MaxChecksReachedError(ProviderError):
    """Twilio 60202: this verification accepts no more checks."""


@dataclass(frozen=True)
class ProviderDiagnostics:
    provider: str
    details: dict[str, Any] = field(default_factory=dict)


class OtpProvider(Protocol):
    name: str

    async def start(self, phone_e164: str, *, client_ip: str | None) -> str:
        """Sends a code; returns the provider's verification id."""

    async def check(self, *, verification_id: str, code: str) -> bool:
        """True if the code is correct, False if it is wrong; raises on any failure."""

    async def status(self, verification_id: str) -> str:
        """Where a verification stands (``pending``, ``approved``, ``canceled``, ``expired``,
        ``max_attempts_reached``): asked after a check that got no answer. Raises
        ``VerificationNotFoundError`` when the provider no longer has it (Twilio forgets
        approved, cancelled and expired verifications) and ``ProviderUnavailableError`` when it
        cannot say."""

    async def cancel(self, verification_id: str) -> None:
        """Invalidates a verification so its code can no longer be used."""

    async def diagnostics(self) -> ProviderDiagnostics:
        """Configuration facts and a live probe of the provider, without secrets."""

    async def close(self) -> None:
        """Releases the HTTP client (called on shutdown)."""
