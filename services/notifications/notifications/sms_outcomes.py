"""What a send or a lookup can come back with, in our words (the adapters map SDK errors here).

A successful send returns :class:`SentSms`; every failure is one of the :class:`SendError`
subclasses, so a caller never confuses "not sent" with "maybe sent".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutgoingSms:
    to: str
    body: str
    status_callback: str | None


@dataclass(frozen=True)
class SentSms:
    sid: str
    status: str


class SendError(Exception):
    def __init__(self, *, http_status: int | None = None, code: int | None = None) -> None:
        super().__init__(f"twilio send failed (status {http_status}, code {code})")
        self.http_status = http_status
        self.code = code


class SmsRejected(SendError):
    """Twilio refused this message for good (invalid or opted-out number...)."""


class SmsConfigurationError(SendError):
    """Our account, credentials or sender are wrong: no message can go until ops fix them."""


class SmsNotSent(SendError):
    """Certainly not sent (throttled, or the connection never opened): safe to send again."""

    def __init__(
        self,
        *,
        http_status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(http_status=http_status, code=code)
        self.retry_after = retry_after


class SmsOutcomeUnknown(SendError):
    """A timeout, a dropped connection or a 5xx: Twilio may have accepted the message."""


class SmsLookupFailed(Exception):
    """Twilio could not be asked whether an earlier attempt went out (retry the lookup)."""
