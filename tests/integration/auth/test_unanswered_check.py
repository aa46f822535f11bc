"""A check that gets no answer from Twilio in time may still have been carried out. Against the
fake Twilio's latency and commit-then-timeout faults: an approval the answer of which was lost
signs the user in (at once when Twilio can tell, else on the retry with the same code), never
strands them behind 503 ``service_misconfigured``, and never sends ops after a
misconfiguration that isn't there."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, running
from tests.support.polling import eventually
from tests.support.problem_json import problem
from tests.support.samples import random_phone

TIMEOUT_S = 2.0  # auth's Twilio deadline in these tests; the faults hold the check longer


@pytest.fixture
async def auth(auth_settings: SettingsFactory) -> Any:
    async with running(auth_settings(twilio_timeout_seconds=TIMEOUT_S)) as client:
        yield client


async def _started(auth: AuthClient, fake_twilio: TwilioControl) -> tuple[str, str, str]:
    phone = random_phone()
    started = await auth.start(phone)
    assert started.status_code == 202, started.text
    return phone, started.json()["challenge_id"], await fake_twilio.last_code_for(phone)


def _no_misconfiguration_alarm(caplog: pytest.LogCaptureFixture) -> None:
    alarms = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not alarms, [r.getMessage() for r in alarms]


async def test_a_late_approval_signs_the_user_in_on_retry(
    auth: AuthClient, fake_twilio: TwilioControl, caplog: pytest.LogCaptureFixture
) -> None:
    phone, challenge, code = await _started(auth, fake_twilio)
    caplog.set_level(logging.INFO)
    # The check reaches Twilio only after auth gave up waiting; Twilio then approves it.
    await fake_twilio.add_latency("verification_checks.create", seconds=TIMEOUT_S + 2, times=1)
    first = await auth.verify(challenge, code)
    body = problem(first, 503, "otp_provider_unavailable")
    assert "try it again" in body["detail"]

    async def approved() -> bool:
        return (await fake_twilio.verification(phone))["status"] == "approved"

    await eventually(approved, timeout=30, what="the late check to be approved")
    retry = await auth.verify(challenge, code)
    assert retry.status_code == 200, retry.text
    assert retry.json()["user"]["phone_masked"].endswith(phone[-4:])
    _no_misconfiguration_alarm(caplog)
    # the approval is spent: the same code again is "already used", not a new session
    problem(await auth.verify(challenge, code), 409, "otp_already_used")


async def test_an_approval_whose_answer_was_lost_signs_in_at_once(
    auth: AuthClient, fake_twilio: TwilioControl, caplog: pytest.LogCaptureFixture
) -> None:
    """Twilio approved the code but its answer came too late: the verification is gone when
    auth asks, while our challenge is pending and far from expiry, so this check approved it."""
    _, challenge, code = await _started(auth, fake_twilio)
    caplog.set_level(logging.INFO)
    await fake_twilio.commit_then_timeout(
        "verification_checks.create", seconds=TIMEOUT_S + 2, times=1
    )
    resp = await auth.verify(challenge, code)
    assert resp.status_code == 200, resp.text
    assert await fake_twilio.calls("verifications.fetch") == 1
    _no_misconfiguration_alarm(caplog)


async def test_a_wrong_code_whose_check_got_no_answer_signs_nobody_in(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    phone, challenge, code = await _started(auth, fake_twilio)
    wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
    await fake_twilio.commit_then_timeout(
        "verification_checks.create", seconds=TIMEOUT_S + 2, times=1
    )
    problem(await auth.verify(challenge, wrong), 503, "otp_provider_unavailable")
    assert (await fake_twilio.verification(phone))["status"] == "pending"
    # the unanswered wrong code cost no attempt and does not count as an approval
    problem(await auth.verify(challenge, wrong), 401, "otp_invalid")
    assert (await auth.verify(challenge, code)).status_code == 200
