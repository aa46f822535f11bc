"""Two copies of one send command handled at the same moment (two replicas, a redelivery racing
its original) send one SMS: on the general path the delivery row lock serializes the decision,
and the attempt number is unique per delivery; on the first-attempt statement the unique
``delivery_key`` lets only the copy that created the delivery send."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from messaging.contracts import read
from messaging.failures import TransientError
from messaging.subscriber import Delivery
from notifications.contracts import SendSms
from notifications.send_handlers import send_sms
from notifications.send_statements import FIRST_ATTEMPT
from notifications.settings import SEND_QUEUE

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.meeting import MeetingUnitOfWork
from tests.integration.notifications.sms import attempts, messages_to, random_phone, send_command
from tests.support.notifications_service import SettingsFactory, running


async def test_two_concurrent_copies_of_a_command_send_one_sms(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    envelope = send_command(phone)
    command = read(envelope, SendSms)
    async with running(notifications_settings(queue_prefetch={SEND_QUEUE: 1})) as service:
        copy = Delivery(
            envelope=envelope,
            consumer=SEND_QUEUE,
            attempt=1,
            replay_count=0,
            headers={},
            deps=service.deps,
        )
        # A first try throttled by Twilio leaves the delivery pending with one attempt.
        await fake_twilio.fail_next("messages.create", status=429, code=20429)
        with pytest.raises(TransientError):
            await send_sms(service.deps, copy, command)

        barrier = asyncio.Barrier(2)
        deps = replace(service.deps, uow=MeetingUnitOfWork(service.deps.uow, barrier))
        results = await asyncio.gather(
            send_sms(deps, copy, command), send_sms(deps, copy, command), return_exceptions=True
        )

        assert len(await messages_to(fake_twilio, phone)) == 1
        outcomes = sorted(type(r).__name__ for r in results)
        assert outcomes in (["NoneType", "TransientError"], ["NoneType", "NoneType"]), results
        assert [a.outcome for a in await attempts(service, str(command.delivery_key))] == [
            "not_sent",
            "accepted",
        ]


async def test_two_concurrent_first_copies_of_a_command_send_one_sms(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    envelope = send_command(phone)
    command = read(envelope, SendSms)
    async with running(notifications_settings(queue_prefetch={SEND_QUEUE: 1})) as service:
        first = Delivery(
            envelope=envelope,
            consumer=SEND_QUEUE,
            attempt=0,
            replay_count=0,
            headers={},
            deps=service.deps,
        )
        barrier = asyncio.Barrier(2)
        uow = MeetingUnitOfWork(service.deps.uow, barrier, meet_at=FIRST_ATTEMPT)
        deps = replace(service.deps, uow=uow)
        results = await asyncio.gather(
            send_sms(deps, first, command), send_sms(deps, first, command), return_exceptions=True
        )

        assert len(await messages_to(fake_twilio, phone)) == 1
        # The copy that did not create the delivery finds attempt 1 in flight: it retries later.
        outcomes = sorted(type(r).__name__ for r in results)
        assert outcomes in (["NoneType", "TransientError"], ["NoneType", "NoneType"]), results
        assert [a.outcome for a in await attempts(service, str(command.delivery_key))] == [
            "accepted"
        ]
