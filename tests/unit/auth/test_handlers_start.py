"""Starting a sign-in: which answer each decision of the limits and of the provider gives, and
when the provider is not asked at all (handlers through bootstrap with fakes at the ports)."""

from __future__ import annotations

import pytest
from auth import handlers
from auth.bootstrap import otp_limits
from auth.errors import (
    InvalidPhoneNumberError,
    OtpProviderUnavailableError,
    OtpResendCooldownError,
    OtpSendBlockedError,
    OtpSendLimitExceededError,
    PhoneRegionUnsupportedError,
    RateLimitedError,
    ServiceMisconfiguredError,
    VerificationLockedError,
)
from auth.otp_outcomes import Decision, LiveChallenge
from auth.otp_provider import (
    ProviderError,
    ProviderMisconfiguredError,
    ProviderRejectedError,
    ProviderUnavailableError,
    Rejection,
)
from common.errors import AppError

from tests.unit.auth.ports import FakeOtpStore, FakeProvider, deps_with, unit_settings

PHONE = "+14155550123"


def _store(**kw: object) -> FakeOtpStore:
    return FakeOtpStore(otp_limits(unit_settings()), **kw)  # type: ignore[arg-type]


async def test_a_fresh_start_sends_one_code_and_creates_a_challenge() -> None:
    provider, otp = FakeProvider(), _store()
    async with deps_with(provider=provider, otp=otp) as deps:
        started = await handlers.start_otp(deps, phone=PHONE, client_ip="10.0.0.1")
    assert provider.calls == [("start", PHONE)]
    assert otp.called("create_challenge") == 1 and otp.called("set_verification") == 0
    assert started.code_length == 6 and started.resend_available_in == 30
    assert started.expires_in == 600


async def test_a_resend_reuses_the_live_challenge() -> None:
    live = LiveChallenge("live-challenge-" + "y" * 16, "pending", remaining_ms=400_000, attempts=1)
    otp = _store(live=live)
    async with deps_with(otp=otp) as deps:
        started = await handlers.start_otp(deps, phone=PHONE, client_ip="10.0.0.1")
    assert started.challenge_id == live.challenge_id and started.expires_in == 400
    assert otp.called("set_verification") == 1 and otp.called("create_challenge") == 0


@pytest.mark.parametrize(
    ("phone", "error"),
    [("12", InvalidPhoneNumberError), ("+442071838750", PhoneRegionUnsupportedError)],
)
async def test_a_bad_number_is_refused_before_any_limit_or_sms(
    phone: str, error: type[AppError]
) -> None:
    provider, otp = FakeProvider(), _store()
    async with deps_with(provider=provider, otp=otp) as deps:
        with pytest.raises(error):
            await handlers.start_otp(deps, phone=phone, client_ip="10.0.0.1")
    assert provider.calls == [] and otp.calls == []


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ("rate_limited", RateLimitedError),
        ("locked", VerificationLockedError),
        ("send_limit", OtpSendLimitExceededError),
        ("cooldown", OtpResendCooldownError),
        ("budget", RateLimitedError),
    ],
)
async def test_a_refused_send_answers_its_limit_and_sends_nothing(
    outcome: str, error: type[AppError]
) -> None:
    provider = FakeProvider()
    async with deps_with(provider=provider, otp=_store(send=Decision(outcome, 42))) as deps:
        with pytest.raises(error) as raised:
            await handlers.start_otp(deps, phone=PHONE, client_ip="10.0.0.1")
    assert raised.value.retry_after == 42
    assert provider.calls == []


@pytest.mark.parametrize(
    ("failure", "error", "refunded"),
    [
        (ProviderUnavailableError("timeout"), OtpProviderUnavailableError, True),
        (ProviderRejectedError(Rejection.INVALID_NUMBER), InvalidPhoneNumberError, True),
        (ProviderRejectedError(Rejection.REGION), PhoneRegionUnsupportedError, False),
        (ProviderRejectedError(Rejection.BLOCKED), OtpSendBlockedError, False),
        (ProviderRejectedError(Rejection.SEND_LIMIT), OtpSendLimitExceededError, False),
        (ProviderMisconfiguredError("credentials rejected"), ServiceMisconfiguredError, True),
    ],
)
async def test_a_provider_failure_maps_to_its_answer_and_refunds_what_was_not_sent(
    failure: ProviderError, error: type[AppError], refunded: bool
) -> None:
    otp = _store()
    async with deps_with(provider=FakeProvider(starts=[failure]), otp=otp) as deps:
        with pytest.raises(error):
            await handlers.start_otp(deps, phone=PHONE, client_ip="10.0.0.1")
    assert otp.called("refund_send") == int(refunded)
    assert otp.called("create_challenge") == 0
