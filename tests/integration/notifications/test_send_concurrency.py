"""Two copies of one send command handled at the same moment (two replicas, a redelivery racing
its original) send one SMS: on the general path the delivery row lock serializes the decision;
on the first-attempt statement the unique ``delivery_key`` lets only the copy that created the
delivery send; on the retry statements the unique attempt number lets one copy start the next
attempt, and the delivery's row lock makes a retry wait for a status callback that adopts the
message meanwhile."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from common.direct_sql import DirectStatement
from messaging.contracts import read
from messaging.envelope import Envelope
from messaging.failures import TransientError
from messaging.subscriber import Delivery
from notifications import tables
from notifications.contracts import SendSms
from notifications.deps import Deps
from notifications.retry_statements import NEXT_ATTEMPT, RESEND_AFTER_LOOKUP
from notifications.send_handlers import send_sms
from notifications.send_statements import FIRST_ATTEMPT
from notifications.settings import SEND_QUEUE
from notifications.sms_status import rank
from sqlalchemy import select, update

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.meeting import InterposedUnitOfWork, MeetingUnitOfWork
from tests.integration.notifications.sms import (
    attempts,
    delivery,
    messages_to,
    random_phone,
    send_command,
)
from tests.support.notifications_service import Notifications, SettingsFactory, running


async def test_two_concurrent_copies_of_a_command_send_one_sms(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    # Two more first tries (a publisher's duplicates) of a delivery that exists: the
    # first-attempt statement leaves them to the general path, which locks the row.
    await two_racing_copies(
        notifications_settings,
        fake_twilio,
        first_try={"status": 429, "code": 20429},
        copies_attempt=0,
        meet_at=None,
    )


async def test_two_concurrent_first_copies_of_a_command_send_one_sms(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    envelope = send_command(phone)
    command = read(envelope, SendSms)
    async with running(notifications_settings(queue_prefetch={SEND_QUEUE: 1})) as service:
        first = delivery_of(envelope, service, attempt=0)
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


async def test_two_concurrent_retries_start_one_next_attempt(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    # Both read attempt 1 "not_sent" (throttled) and start attempt 2 at the same moment.
    await two_racing_copies(
        notifications_settings,
        fake_twilio,
        first_try={"status": 429, "code": 20429},
        copies_attempt=1,
        meet_at=NEXT_ATTEMPT,
    )


async def test_two_concurrent_retries_after_an_unknown_outcome_send_one_sms(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    # Twilio may have attempt 1: both look it up, find nothing, and settle it and start
    # attempt 2 at the same moment.
    await two_racing_copies(
        notifications_settings,
        fake_twilio,
        first_try={"status": 503},
        copies_attempt=1,
        meet_at=RESEND_AFTER_LOOKUP,
    )


async def two_racing_copies(
    notifications_settings: SettingsFactory,
    fake_twilio: TwilioControl,
    *,
    first_try: dict[str, int],
    copies_attempt: int,
    meet_at: DirectStatement | None,
) -> None:
    """A first try fails as ``first_try``; then two copies of the command, handed over as
    ``copies_attempt``, meet at ``meet_at`` (None: their first transaction): one SMS, attempt 1
    settled ``not_sent`` and attempt 2 accepted. The losing copy finds attempt 2 in flight (a
    retry later) or accepted already (nothing to do)."""
    phone = random_phone()
    envelope = send_command(phone)
    command = read(envelope, SendSms)
    async with running(notifications_settings(queue_prefetch={SEND_QUEUE: 1})) as service:
        await fake_twilio.fail_next("messages.create", match={"To": phone}, **first_try)
        with pytest.raises(TransientError):
            await send_sms(service.deps, delivery_of(envelope, service, attempt=0), command)

        uow = MeetingUnitOfWork(service.deps.uow, asyncio.Barrier(2), meet_at=meet_at)
        deps = replace(service.deps, uow=uow)
        copy = delivery_of(envelope, service, attempt=copies_attempt)
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


async def test_a_retry_waits_for_a_callback_that_adopts_the_message_while_it_is_looked_up(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    envelope = send_command(phone)
    command = read(envelope, SendSms)
    key = str(command.delivery_key)
    async with running(notifications_settings(queue_prefetch={SEND_QUEUE: 1})) as service:
        await fake_twilio.fail_next("messages.create", status=503, match={"To": phone})
        with pytest.raises(TransientError):
            await send_sms(service.deps, delivery_of(envelope, service, attempt=0), command)

        # The lookup finds nothing; before the retry settles attempt 1, a status callback's
        # transaction holds the delivery and adopts the message (Twilio did have it after all).
        locked = asyncio.Event()
        callback = asyncio.create_task(adopt_holding_the_row(service, key, locked))
        uow = InterposedUnitOfWork(service.deps.uow, RESEND_AFTER_LOOKUP, locked.wait)
        retry = delivery_of(envelope, service, attempt=1)
        await send_sms(replace(service.deps, uow=uow), retry, command)
        await callback

        assert await messages_to(fake_twilio, phone) == []  # no second SMS
        assert [a.outcome for a in await attempts(service, key)] == ["unknown"]
        assert (await delivery(service, key)).status == "sent"


async def adopt_holding_the_row(service: Notifications, key: str, locked: asyncio.Event) -> None:
    """A status callback's transaction: the delivery row locked a while, then its message
    adopted (the SID recorded, the status moved forward)."""
    d = tables.sms_deliveries
    async with service.deps.uow() as tx:
        await tx.execute(select(d.c.id).where(d.c.delivery_key == key).with_for_update())
        locked.set()
        await asyncio.sleep(0.3)  # the retry's statement reaches the row meanwhile
        await tx.execute(
            update(d)
            .where(d.c.delivery_key == key)
            .values(status="sent", status_rank=rank("sent"), message_sid="SM" + "0" * 32)
        )


def delivery_of(envelope: Envelope, service: Notifications, *, attempt: int) -> Delivery[Deps]:
    """The command as the send queue hands it over: ``attempt`` failures before this one."""
    return Delivery(
        envelope=envelope,
        consumer=SEND_QUEUE,
        attempt=attempt,
        replay_count=0,
        headers={},
        deps=service.deps,
    )
