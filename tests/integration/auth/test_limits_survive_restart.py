"""Limits live in Redis: a restarted service (a new app instance) keeps every counter."""

from __future__ import annotations

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import SettingsFactory, running
from tests.support.problem_json import problem
from tests.support.samples import random_ip, random_phone


async def test_cooldown_attempts_and_ip_limits_survive_a_restart(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    settings = auth_settings(otp_ip_start_burst=2)
    ip = random_ip()
    phone = random_phone()
    async with running(settings, ip=ip) as before:
        challenge = (await before.start(phone)).json()["challenge_id"]
        code = await fake_twilio.last_code_for(phone)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for remaining in (4, 3, 2):
            body = problem(await before.verify(challenge, wrong), 401, "otp_invalid")
            assert body["attempts_remaining"] == remaining
        assert (await before.start(random_phone())).status_code == 202

    async with running(settings, ip=ip) as after:
        problem(await after.start(phone, ip=random_ip()), 429, "otp_resend_cooldown")
        problem(await after.start(random_phone()), 429, "rate_limited")
        body = problem(await after.verify(challenge, wrong), 401, "otp_invalid")
        assert body["attempts_remaining"] == 1
        problem(await after.verify(challenge, wrong), 429, "otp_max_attempts")
