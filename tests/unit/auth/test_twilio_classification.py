"""Twilio answers map to typed outcomes; none of them is ever a wrong code."""

from __future__ import annotations

import pytest
from auth.otp_provider import (
    MaxChecksReachedError,
    ProviderMisconfiguredError,
    ProviderRejectedError,
    ProviderUnavailableError,
    Rejection,
    VerificationNotFoundError,
)
from auth.twilio_verify import classify
from twilio.base.exceptions import TwilioRestException


def _exc(status: int, code: int | None, msg: str = "") -> TwilioRestException:
    return TwilioRestException(status, "https://verify.twilio.com/v2/x", msg=msg, code=code)


@pytest.mark.parametrize(
    ("status", "code", "operation", "expected", "reason"),
    [
        (401, 20003, "check", ProviderMisconfiguredError, None),
        (404, 20404, "start", ProviderMisconfiguredError, None),
        (404, 20404, "check", VerificationNotFoundError, None),
        (404, 20404, "cancel", VerificationNotFoundError, None),
        (400, 60200, "start", ProviderRejectedError, Rejection.INVALID_NUMBER),
        (400, 60200, "check", ProviderRejectedError, Rejection.INVALID_CODE_FORMAT),
        (400, 60006, "start", ProviderRejectedError, Rejection.INVALID_NUMBER),
        (403, 60605, "start", ProviderRejectedError, Rejection.REGION),
        (403, 60410, "start", ProviderRejectedError, Rejection.BLOCKED),
        (429, 60203, "start", ProviderRejectedError, Rejection.SEND_LIMIT),
        (429, 60212, "start", ProviderRejectedError, Rejection.SEND_LIMIT),
        (429, 60202, "check", MaxChecksReachedError, None),
        (429, 20429, "check", ProviderUnavailableError, None),
        (503, 503, "check", ProviderUnavailableError, None),  # non-JSON body: code == status
        (500, None, "start", ProviderUnavailableError, None),
        (401, 401, "start", ProviderMisconfiguredError, None),
    ],
)
def test_twilio_errors_map_to_typed_outcomes(
    status: int, code: int | None, operation: str, expected: type, reason: Rejection | None
) -> None:
    msg = "Invalid parameter `To`: +1415" if code == 60200 and operation == "start" else ""
    error = classify(_exc(status, code, msg), operation)
    assert type(error) is expected
    if reason is not None:
        assert isinstance(error, ProviderRejectedError)
        assert error.reason is reason


def test_an_unknown_channel_parameter_is_our_misconfiguration() -> None:
    error = classify(_exc(400, 60200, "Invalid parameter `Channel`: pigeon"), "start")
    assert isinstance(error, ProviderMisconfiguredError)
