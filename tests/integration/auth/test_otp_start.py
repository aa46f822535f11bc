"""Every row of the send taxonomy through HTTP, against the fake Twilio and its faults."""

from __future__ import annotations

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, end_cooldown, running
from tests.support.problem_json import assert_retry_after, problem
from tests.support.samples import random_phone


async def test_send_answers_202_with_the_challenge(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    resp = await auth.start(random_phone())
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert set(body) == {"challenge_id", "expires_in", "resend_available_in", "code_length"}
    assert body["code_length"] == 6
    assert 590 <= body["expires_in"] <= 600
    assert body["resend_available_in"] == 30
    assert await fake_twilio.calls("verifications.create") == 1


async def test_new_and_existing_phones_get_the_same_answer(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    existing = random_phone()
    await auth.make_user(existing, "driver")
    new = await auth.start(random_phone())
    old = await auth.start(existing)
    assert new.status_code == old.status_code == 202
    strip = lambda body: {k: v for k, v in body.items() if k != "challenge_id"}  # noqa: E731
    assert strip(new.json()) == strip(old.json())
    assert sorted(new.headers.keys()) == sorted(old.headers.keys())


async def test_malformed_number_is_400_without_calling_twilio(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    for raw in ("hello", "4155550123", "+1415555", "+1 (415) 555-01234"):
        problem(await auth.start(raw), 400, "invalid_phone_number")
    assert await fake_twilio.calls() == 0


async def test_number_outside_the_allow_list_is_422(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    problem(await auth.start("+447700900123"), 422, "phone_region_unsupported")
    assert await fake_twilio.calls() == 0


async def test_twilio_rejecting_the_number_is_400(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.fail_next(
        "verifications.create", status=400, code=60200, message="Invalid parameter `To`: +1"
    )
    problem(await auth.start(random_phone()), 400, "invalid_phone_number")


async def test_twilio_geo_permission_block_is_422(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.fail_next("verifications.create", status=403, code=60605)
    problem(await auth.start(random_phone()), 422, "phone_region_unsupported")


async def test_fraud_guard_block_is_403_otp_send_blocked(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.fail_next("verifications.create", status=403, code=60410)
    problem(await auth.start(random_phone()), 403, "otp_send_blocked")


async def test_resend_within_cooldown_is_429_with_retry_after(auth: AuthClient) -> None:
    phone = random_phone()
    assert (await auth.start(phone)).status_code == 202
    resp = await auth.start(phone)
    problem(resp, 429, "otp_resend_cooldown")
    assert 1 <= assert_retry_after(resp) <= 30


async def test_daily_cap_per_phone_is_429_send_limit(auth_settings: SettingsFactory) -> None:
    async with running(auth_settings(otp_daily_cap_per_phone=1)) as auth:
        phone = random_phone()
        assert (await auth.start(phone)).status_code == 202
        resp = await auth.start(phone)
        problem(resp, 429, "otp_send_limit_exceeded")
        assert assert_retry_after(resp) > 3600


async def test_twilio_max_sends_is_429_send_limit(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.fail_next("verifications.create", status=429, code=60203)
    resp = await auth.start(random_phone())
    problem(resp, 429, "otp_send_limit_exceeded")
    assert_retry_after(resp)


async def test_per_ip_start_limit_is_429_rate_limited(auth_settings: SettingsFactory) -> None:
    async with running(auth_settings(otp_ip_start_burst=2)) as auth:
        assert (await auth.start(random_phone())).status_code == 202
        assert (await auth.start(random_phone())).status_code == 202
        resp = await auth.start(random_phone())
        problem(resp, 429, "rate_limited")
        assert_retry_after(resp)
        # another client IP is not affected
        assert (await auth.start(random_phone(), ip="192.0.2.77")).status_code == 202


async def test_client_supplied_forwarded_for_is_ignored(auth_settings: SettingsFactory) -> None:
    async with running(auth_settings(otp_ip_start_burst=1)) as auth:
        assert (await auth.start(random_phone())).status_code == 202
        resp = await auth.http.post(
            "/v1/auth/otp/start",
            json={"phone": random_phone()},
            headers={"X-Nerava-Client-Ip": auth.ip, "X-Forwarded-For": "198.51.100.9"},
        )
        problem(resp, 429, "rate_limited")


async def test_global_sms_budget_is_429_rate_limited(
    auth_settings: SettingsFactory, infra: object
) -> None:
    settings = auth_settings(otp_sms_budget_per_hour=1, otp_sms_budget_burst=1)
    isolated = settings.model_copy(update={"redis_key_prefix": settings.redis_key_prefix + ":b"})
    async with running(isolated) as auth:
        assert (await auth.start(random_phone())).status_code == 202
        resp = await auth.start(random_phone(), ip="192.0.2.10")
        problem(resp, 429, "rate_limited")
        assert assert_retry_after(resp) > 60


async def test_twilio_outage_is_503_and_refunds_the_send(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    await fake_twilio.fail_next("verifications.create", status=503)
    resp = await auth.start(phone)
    problem(resp, 503, "otp_provider_unavailable")
    assert_retry_after(resp)
    # No cooldown was left behind: the user can retry at once.
    assert (await auth.start(phone)).status_code == 202


async def test_twilio_throttling_is_retried_once(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.fail_next("verifications.create", status=429, code=20429)
    assert (await auth.start(random_phone())).status_code == 202
    assert await fake_twilio.calls("verifications.create") == 2


async def test_twilio_timeout_is_503(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    async with running(auth_settings(twilio_timeout_seconds=0.3)) as auth:
        await fake_twilio.add_latency("verifications.create", seconds=2)
        problem(await auth.start(random_phone()), 503, "otp_provider_unavailable")


async def test_twilio_connection_drop_is_503(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    await fake_twilio.disconnect_next("verifications.create")
    problem(await auth.start(random_phone()), 503, "otp_provider_unavailable")


async def test_rejected_credentials_are_503_service_misconfigured(
    auth_settings: SettingsFactory,
) -> None:
    wrong = auth_settings(twilio_api_key_secret="not-the-secret")
    async with running(wrong) as auth:
        problem(await auth.start(random_phone()), 503, "service_misconfigured")


async def test_unknown_verify_service_is_503_service_misconfigured(
    auth_settings: SettingsFactory,
) -> None:
    async with running(auth_settings(twilio_verify_service_sid="VA" + "f" * 32)) as auth:
        problem(await auth.start(random_phone()), 503, "service_misconfigured")


async def test_redis_down_fails_closed_with_503(auth_settings: SettingsFactory) -> None:
    async with running(auth_settings(redis_url="redis://127.0.0.1:1/0")) as auth:
        resp = await auth.start(random_phone())
        problem(resp, 503, "dependency_unavailable")
        resp = await auth.verify("x" * 32, "123456")
        problem(resp, 503, "dependency_unavailable")


async def test_resend_reuses_the_challenge_and_grows_the_cooldown(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    first = (await auth.start(phone)).json()
    await end_cooldown(auth, phone)
    second = (await auth.start(phone)).json()
    assert second["challenge_id"] == first["challenge_id"]
    assert second["resend_available_in"] == 60
    state = await fake_twilio.state()
    assert len(state["verifications"]) == 1
    assert state["verifications"][0]["sends"] == 2
