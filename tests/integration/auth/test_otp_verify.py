"""Every row of the verify taxonomy through HTTP; a provider failure never costs an attempt."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, end_cooldown, running, sign_in
from tests.support.problem_json import assert_retry_after, problem
from tests.support.samples import random_phone


async def _started(auth: AuthClient, fake_twilio: TwilioControl) -> tuple[str, str, str]:
    phone = random_phone()
    resp = await auth.start(phone)
    assert resp.status_code == 202, resp.text
    return phone, resp.json()["challenge_id"], await fake_twilio.last_code_for(phone)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_correct_code_signs_in(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    resp = await auth.verify(challenge, code)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    tokens: dict[str, Any] = resp.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 600
    assert tokens["refresh_token"].startswith("nrt_")
    assert len(tokens["session_id"]) == 32


async def test_malformed_code_is_400_and_never_reaches_twilio(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, _ = await _started(auth, fake_twilio)
    for code in ("12345", "1234567", "12a456", "١٢٣٤٥٦"):
        problem(await auth.verify(challenge, code), 400, "validation_failed")
    assert await fake_twilio.calls("verification_checks.create") == 0


async def test_wrong_code_is_401_with_attempts_remaining(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    body = problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
    assert body["attempts_remaining"] == 4
    assert body["challenge_id"] == challenge
    body = problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
    assert body["attempts_remaining"] == 3
    assert (await auth.verify(challenge, code)).status_code == 200


async def test_fifth_wrong_code_is_429_max_attempts_and_closes_the_challenge(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    for remaining in (4, 3, 2, 1):
        body = problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
        assert body["attempts_remaining"] == remaining
    resp = await auth.verify(challenge, _wrong(code))
    assert problem(resp, 429, "otp_max_attempts")["attempts_remaining"] == 0
    assert_retry_after(resp)
    checks = await fake_twilio.calls("verification_checks.create")
    # Even the right code is refused now, without asking Twilio.
    problem(await auth.verify(challenge, code), 429, "otp_max_attempts")
    assert await fake_twilio.calls("verification_checks.create") == checks
    # The closed verification was cancelled at Twilio, so a new code is a fresh one.
    state = await fake_twilio.state()
    assert state["verifications"][0]["status"] == "canceled"


async def test_concurrent_guesses_cannot_exceed_five_checks(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    results = await asyncio.gather(*(auth.verify(challenge, _wrong(code)) for _ in range(12)))
    assert await fake_twilio.calls("verification_checks.create") <= 5
    codes = [r.json()["code"] for r in results]
    # attempts_remaining is reported as of each answer, so how the five checked guesses split
    # between otp_invalid and otp_max_attempts depends on timing; the seven others never
    # reached Twilio.
    assert set(codes) <= {"otp_invalid", "otp_max_attempts"}
    assert codes.count("otp_max_attempts") >= 8


async def test_twilio_max_checks_is_429_max_attempts(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    await fake_twilio.fail_next("verification_checks.create", status=429, code=60202)
    problem(await auth.verify(challenge, code), 429, "otp_max_attempts")


async def test_expired_challenge_is_410(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    await auth.redis.hset(auth.otp_state.challenge_key(challenge), "exp", 0)
    body = problem(await auth.verify(challenge, code), 410, "otp_expired")
    assert body["challenge_id"] == challenge
    assert await fake_twilio.calls("verification_checks.create") == 0


async def test_twilio_20404_near_our_expiry_is_410(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    # Our challenge has 3 s left; Twilio already forgot the verification.
    now_ms = int((await auth.redis.time())[0]) * 1000
    await auth.redis.hset(auth.otp_state.challenge_key(challenge), "exp", now_ms + 3000)
    await fake_twilio.advance_clock(601)
    problem(await auth.verify(challenge, code), 410, "otp_expired")


async def test_twilio_20404_for_a_live_challenge_is_503_and_refunded(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    await fake_twilio.advance_clock(601)  # Twilio's clock runs ahead of ours: it lost the code
    problem(await auth.verify(challenge, code), 503, "service_misconfigured")
    attempts = await auth.redis.hget(auth.otp_state.challenge_key(challenge), "att")
    assert int(attempts) == 0


async def test_unknown_challenge_is_404(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    problem(await auth.verify("nope" * 8, "123456"), 404, "otp_challenge_not_found")
    problem(await auth.verify("bad id!", "123456"), 404, "otp_challenge_not_found")
    assert await fake_twilio.calls() == 0


async def test_used_code_is_409(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    assert (await auth.verify(challenge, code)).status_code == 200
    body = problem(await auth.verify(challenge, code), 409, "otp_already_used")
    assert body["challenge_id"] == challenge


async def test_double_submit_signs_in_once(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    results = await asyncio.gather(*(auth.verify(challenge, code) for _ in range(4)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409, 409, 409], [r.text for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"otp_already_used"}


async def test_failures_across_challenges_lock_the_phone(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    async with running(auth_settings(otp_phone_failure_threshold=3)) as auth:
        phone, challenge, code = await _started(auth, fake_twilio)
        problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
        problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
        resp = await auth.verify(challenge, _wrong(code))
        problem(resp, 429, "verification_locked")
        assert assert_retry_after(resp) > 3000
        # The right code does not lift the lock, and no new code is sent while it holds: the
        # start answers the lock's 429 without an SMS (it could only fail the same way).
        problem(await auth.verify(challenge, code), 429, "verification_locked")
        await end_cooldown(auth, phone)
        sends = await fake_twilio.calls("verifications.create")
        resp = await auth.start(phone)
        problem(resp, 429, "verification_locked")
        assert assert_retry_after(resp) > 3000
        assert await fake_twilio.calls("verifications.create") == sends


async def test_per_ip_verify_limit_is_429_rate_limited(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    async with running(auth_settings(otp_ip_verify_burst=2)) as auth:
        _, challenge, code = await _started(auth, fake_twilio)
        problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
        problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
        resp = await auth.verify(challenge, code)
        problem(resp, 429, "rate_limited")
        assert_retry_after(resp)
        assert (await auth.verify(challenge, code, ip="192.0.2.200")).status_code == 200


async def test_twilio_outage_is_503_and_never_costs_an_attempt(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    for _ in range(4):
        problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
    await fake_twilio.fail_next("verification_checks.create", status=503, times=6)
    for _ in range(6):
        resp = await auth.verify(challenge, code)
        problem(resp, 503, "otp_provider_unavailable")
        assert_retry_after(resp)
    # One attempt was left before the outage and it is still there.
    assert (await auth.verify(challenge, code)).status_code == 200


async def test_twilio_timeout_on_check_is_503_and_not_counted(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    async with running(auth_settings(twilio_timeout_seconds=1.0)) as auth:
        _, challenge, code = await _started(auth, fake_twilio)
        await fake_twilio.add_latency("verification_checks.create", seconds=3)
        problem(await auth.verify(challenge, code), 503, "otp_provider_unavailable")
        attempts = await auth.redis.hget(auth.otp_state.challenge_key(challenge), "att")
        assert int(attempts) == 0


async def test_connection_drop_on_check_is_503(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    await fake_twilio.disconnect_next("verification_checks.create")
    problem(await auth.verify(challenge, code), 503, "otp_provider_unavailable")
    assert (await auth.verify(challenge, code)).status_code == 200


async def test_rejected_credentials_on_check_are_503_misconfigured(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    _, challenge, code = await _started(auth, fake_twilio)
    await fake_twilio.fail_next("verification_checks.create", status=401, code=20003)
    problem(await auth.verify(challenge, code), 503, "service_misconfigured")
    assert (await auth.verify(challenge, code)).status_code == 200


async def test_disabled_account_is_403_only_after_a_correct_code(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    admin_phone = random_phone()
    await auth.make_user(admin_phone, "admin")
    admin = await sign_in(auth, fake_twilio, admin_phone)
    phone = random_phone()
    driver = await sign_in(auth, fake_twilio, phone)
    resp = await auth.put(
        f"/v1/admin/users/{driver['user']['id']}/status",
        {"status": "disabled"},
        token=admin["access_token"],
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["sessions_revoked"] == 1
    await end_cooldown(auth, phone)
    challenge = (await auth.start(phone)).json()["challenge_id"]
    code = await fake_twilio.last_code_for(phone)
    problem(await auth.verify(challenge, _wrong(code)), 401, "otp_invalid")
    problem(await auth.verify(challenge, code), 403, "account_disabled")
    problem(await auth.get("/v1/auth/me", token=driver["access_token"]), 401, "session_revoked")
