"""Verifying a code: every refusal and provider outcome has its own answer, a provider failure
never costs an attempt, and a database that cannot answer after an approved code is a 503
(the unit of work's mapping) that spends the challenge. Handlers through bootstrap with fakes
at the ports; the unit of work is the real one on a database that refuses connections."""

from __future__ import annotations

import pytest
from auth import handlers
from auth.bootstrap import otp_limits
from auth.deps import Deps
from auth.errors import (
    OtpAlreadyUsedError,
    OtpChallengeNotFoundError,
    OtpExpiredError,
    OtpInvalidError,
    OtpMaxAttemptsError,
    OtpProviderUnavailableError,
    RateLimitedError,
    ServiceMisconfiguredError,
    VerificationLockedError,
)
from auth.otp_outcomes import Decision, VerifyAttempt
from auth.otp_provider import (
    MaxChecksReachedError,
    ProviderRejectedError,
    ProviderUnavailableError,
    Rejection,
    VerificationNotFoundError,
)
from common.errors import AppError, DependencyUnavailable, InvalidInput

from tests.unit.auth.ports import FakeOtpStore, FakeProvider, deps_with, unit_settings

CHALLENGE = "c" * 32
PHONE = "+14155550123"


def _store(**kw: object) -> FakeOtpStore:
    return FakeOtpStore(otp_limits(unit_settings()), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("challenge", "code"), [(CHALLENGE, "12345"), (CHALLENGE, "12345x")])
async def test_a_malformed_code_is_400_before_any_state_is_touched(
    challenge: str, code: str
) -> None:
    otp = _store()
    async with deps_with(otp=otp) as deps:
        with pytest.raises(InvalidInput):
            await handlers.verify_otp(deps, challenge_id=challenge, code=code, client_ip="ip")
    assert otp.calls == []


async def test_a_malformed_challenge_id_is_404_without_a_lookup() -> None:
    otp = _store()
    async with deps_with(otp=otp) as deps:
        with pytest.raises(OtpChallengeNotFoundError):
            await handlers.verify_otp(deps, challenge_id="0", code="123456", client_ip="ip")
    assert otp.calls == []


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ("rate_limited", RateLimitedError),
        ("not_found", OtpChallengeNotFoundError),
        ("already_used", OtpAlreadyUsedError),
        ("expired", OtpExpiredError),
        ("locked", VerificationLockedError),
        ("max_attempts", OtpMaxAttemptsError),
    ],
)
async def test_a_refused_attempt_answers_its_reason_and_never_asks_the_provider(
    outcome: str, error: type[AppError]
) -> None:
    provider = FakeProvider()
    otp = _store(attempt=VerifyAttempt(outcome=outcome, wait_seconds=12))
    async with deps_with(provider=provider, otp=otp) as deps:
        with pytest.raises(error):
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
    assert provider.calls == []


async def test_a_wrong_code_is_401_with_the_attempts_left() -> None:
    otp = _store(wrong=Decision("invalid", remaining=3))
    async with deps_with(provider=FakeProvider(checks=[False]), otp=otp) as deps:
        with pytest.raises(OtpInvalidError) as raised:
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
    assert raised.value.extras["attempts_remaining"] == 3


async def test_the_wrong_code_that_locks_the_phone_cancels_the_verification() -> None:
    provider = FakeProvider(checks=[False])
    otp = _store(wrong=Decision("locked", wait_seconds=3600))
    async with deps_with(provider=provider, otp=otp) as deps:
        with pytest.raises(VerificationLockedError):
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
    assert provider.called("cancel") == 1


@pytest.mark.parametrize(
    ("failure", "error", "refunded"),
    [
        (ProviderUnavailableError("timeout"), OtpProviderUnavailableError, True),
        (ProviderRejectedError(Rejection.INVALID_CODE_FORMAT), InvalidInput, True),
        (MaxChecksReachedError("60202"), OtpMaxAttemptsError, False),
    ],
)
async def test_a_provider_failure_on_check_is_never_a_wrong_code(
    failure: Exception, error: type[AppError], refunded: bool
) -> None:
    otp = _store()
    async with deps_with(provider=FakeProvider(checks=[failure]), otp=otp) as deps:  # type: ignore[list-item]
        with pytest.raises(error):
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
    assert otp.called("wrong_code") == 0
    assert otp.called("refund_attempt") == int(refunded)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("approved", OtpAlreadyUsedError),
        ("exhausted", OtpMaxAttemptsError),
        ("spent", OtpExpiredError),
        ("pending", ServiceMisconfiguredError),
    ],
)
async def test_a_20404_is_explained_by_our_own_challenge_state(
    status: str, error: type[AppError]
) -> None:
    otp = _store(status=status)
    provider = FakeProvider(checks=[VerificationNotFoundError("20404")])
    async with deps_with(provider=provider, otp=otp) as deps:
        with pytest.raises(error):
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")


async def test_an_approved_code_with_the_database_down_is_503_and_spends_the_challenge() -> None:
    otp = _store()
    async with deps_with(otp=otp) as deps:
        encrypted = deps.phones.encrypt(PHONE)
        otp.attempt = VerifyAttempt(
            outcome="ok",
            attempts=1,
            phone_hash=deps.phones.lookup_hash(PHONE).hex(),
            verification_id="VE" + "1" * 32,
            phone_ciphertext=encrypted.ciphertext.hex(),
            phone_key_id=encrypted.key_id,
            remaining_ms=500_000,
        )
        with pytest.raises(DependencyUnavailable) as raised:
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
    assert raised.value.code == "dependency_unavailable" and raised.value.retry_after
    assert "code" not in raised.value.detail.lower()
    assert otp.called("mark_spent") == 1


def _signable(otp: FakeOtpStore, deps: Deps) -> None:
    """Makes the scripted attempt carry a real encrypted phone (so sign-in can proceed)."""
    encrypted = deps.phones.encrypt(PHONE)
    otp.attempt = VerifyAttempt(
        outcome="ok",
        attempts=1,
        phone_hash=deps.phones.lookup_hash(PHONE).hex(),
        verification_id="VE" + "1" * 32,
        phone_ciphertext=encrypted.ciphertext.hex(),
        phone_key_id=encrypted.key_id,
        remaining_ms=500_000,
    )


@pytest.mark.parametrize("status", ["approved", VerificationNotFoundError("20404")])
async def test_an_unanswered_check_that_twilio_approved_goes_on_to_sign_in(
    status: object,
) -> None:
    """The sign-in is attempted (here it meets the unreachable database: a 503 of the unit of
    work, not of the provider)."""
    otp = _store()
    provider = FakeProvider(checks=[ProviderUnavailableError("timeout")], statuses=[status])  # type: ignore[list-item]
    async with deps_with(provider=provider, otp=otp) as deps:
        _signable(otp, deps)
        with pytest.raises(DependencyUnavailable) as raised:
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
    assert raised.value.code == "dependency_unavailable"
    assert provider.called("status") == 1 and otp.called("approved") == 1
    assert otp.called("refund_attempt") == 0


async def test_an_unanswered_check_still_pending_is_503_and_remembered_for_the_retry() -> None:
    otp = _store()
    provider = FakeProvider(
        checks=[ProviderUnavailableError("timeout"), VerificationNotFoundError("20404")],
        statuses=["pending"],
    )
    async with deps_with(provider=provider, otp=otp) as deps:
        _signable(otp, deps)
        with pytest.raises(OtpProviderUnavailableError):
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
        assert otp.called("refund_attempt") == 1 and otp.unanswered is not None
        # the retry of the same code hears 20404: that is the approval, not a misconfiguration
        with pytest.raises(DependencyUnavailable):
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="123456", client_ip="ip")
        assert otp.called("approved") == 1
        # another code hearing 20404 is still the misconfiguration answer
        provider.checks.append(VerificationNotFoundError("20404"))
        with pytest.raises(ServiceMisconfiguredError):
            await handlers.verify_otp(deps, challenge_id=CHALLENGE, code="654321", client_ip="ip")
