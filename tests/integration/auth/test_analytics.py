"""Sign-in emits ``analytics.user_signed_in.v1`` off the request path (the lossy publisher):
who signed in, as what, whether it registered them; never the phone number."""

from __future__ import annotations

from tests.fakes.twilio.control import TwilioControl
from tests.support.analytics_tap import analytics_tap, carries
from tests.support.auth_service import AuthClient, end_cooldown, sign_in
from tests.support.isolation import RunInfra
from tests.support.problem_json import problem
from tests.support.samples import random_phone

SIGNED_IN = "analytics.user_signed_in.v1"


async def test_each_sign_in_emits_one_analytics_event_without_the_phone(
    auth: AuthClient, fake_twilio: TwilioControl, infra: RunInfra
) -> None:
    phone = random_phone()
    async with analytics_tap(infra.rabbitmq_url, SIGNED_IN) as tap:
        first = await sign_in(auth, fake_twilio, phone)
        user_id = first["user"]["id"]
        registered = await tap.next_of(user_id)
        await end_cooldown(auth, phone)
        await sign_in(auth, fake_twilio, phone)
        again = await tap.next_of(user_id)
        assert await tap.none_of(user_id, within=0.5)
    assert registered.producer == "auth"
    assert registered.data["user_id"] == user_id and registered.data["name"] == "user_signed_in"
    assert registered.data["properties"] == {"role": "driver", "registered": True}
    assert again.data["user_id"] == user_id
    assert again.data["properties"] == {"role": "driver", "registered": False}
    for event in (registered, again):
        assert not carries(event, phone[1:]) and not carries(event, phone[-7:])


async def test_a_refused_sign_in_emits_nothing(
    auth: AuthClient, fake_twilio: TwilioControl, infra: RunInfra
) -> None:
    phone = random_phone()
    async with analytics_tap(infra.rabbitmq_url, SIGNED_IN) as tap:
        started = await auth.start(phone)
        code = await fake_twilio.last_code_for(phone)
        wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
        problem(await auth.verify(started.json()["challenge_id"], wrong), 401, "otp_invalid")
        assert await tap.none(within=1.0)
