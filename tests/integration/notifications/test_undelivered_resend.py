"""An SMS Twilio reports undelivered with a retryable carrier code (30003 unreachable handset...)
is sent again under the same delivery, one re-send per tier of the send queue's schedule, then
fails; duplicated, late and racing callbacks never cause a second re-send."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractChannel
from notifications.settings import RESEND_QUEUE, SEND_QUEUE
from notifications.status_handlers import StatusCallback, record_status_callback

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.meeting import MeetingUnitOfWork
from tests.integration.notifications.sms import (
    PUBLIC_BASE,
    attempts,
    delivery,
    events,
    messages_to,
    post_signed,
    random_phone,
    send,
    send_command,
    status_params,
)
from tests.support.notifications_service import (
    TEST_TIERS,
    Notifications,
    SettingsFactory,
    running,
)
from tests.support.polling import eventually, truthy

STATUS = "/v1/webhooks/twilio/status"
RESEND = "notifications.sms.resend.v1"
SENT, FAILED = "notification.sms_sent.v1", "notification.sms_failed.v1"


def tier(i: int) -> timedelta:
    return timedelta(seconds=int(TEST_TIERS[i].removesuffix("s")))


async def accepted_with(service: Notifications, key: str, *, not_sid: str | None = None) -> Any:
    """The delivery once it holds a Twilio message (other than ``not_sid``)."""

    async def probe() -> Any:
        row = await delivery(service, key)
        ok = row is not None and row.message_sid and row.message_sid != not_sid
        return row if ok else None

    return await eventually(truthy(probe), what="the service to act on it", timeout=20)


async def callback(
    service: Notifications,
    fake_twilio: TwilioControl,
    row: Any,
    status: str,
    code: int | None = None,
    *,
    n: int = 1,
) -> None:
    answer = await post_signed(
        service,
        STATUS,
        status_params(fake_twilio, row.message_sid, status, code),
        auth_token=fake_twilio.auth_token,
        query=f"d={row.id}&n={n}",
    )
    assert answer.status_code == 204, answer.text


async def test_an_undelivered_sms_is_sent_again_under_the_same_delivery_after_the_first_tier(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        key = await send(channel, send_command(phone))
        first = await accepted_with(service, key)
        await callback(service, fake_twilio, first, "undelivered", 30003)

        waiting = await delivery(service, key)
        assert (waiting.status, waiting.resends, waiting.message_sid) == (
            "resend_scheduled",
            1,
            None,
        )
        assert FAILED not in [e for e, _ in await events(service, key)]

        again = await accepted_with(service, key, not_sid=first.message_sid)
        assert again.id == first.id and again.status == "accepted"
        one, two = await attempts(service, key)
        assert (one.n, one.outcome, one.message_sid) == (1, "accepted", first.message_sid)
        assert (two.n, two.outcome, two.message_sid) == (2, "accepted", again.message_sid)
        assert two.started_at - waiting.updated_at >= tier(0)  # the first tier's delay

        await callback(service, fake_twilio, again, "delivered", n=2)
        assert (await delivery(service, key)).status == "delivered"
        assert [e for e, _ in await events(service, key)] == [
            SENT,
            RESEND,
            SENT,
            "notification.sms_delivered.v1",
        ]
    sent = await messages_to(fake_twilio, phone)
    assert len(sent) == 2 and sent[0]["body"] == sent[1]["body"]


async def test_duplicated_and_out_of_order_callbacks_cause_one_resend(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        key = await send(channel, send_command(phone))
        first = await accepted_with(service, key)
        # undelivered before the late "sent", Twilio's retry of it, a late "failed" as well
        await callback(service, fake_twilio, first, "undelivered", 30003)
        await callback(service, fake_twilio, first, "undelivered", 30003)
        await callback(service, fake_twilio, first, "sent")
        await callback(service, fake_twilio, first, "failed", 30008)
        await callback(service, fake_twilio, first, "queued")

        again = await accepted_with(service, key, not_sid=first.message_sid)
        await asyncio.sleep((tier(0) + tier(1)).total_seconds())  # room for a second re-send
        assert (await delivery(service, key)).message_sid == again.message_sid
        assert [a.outcome for a in await attempts(service, key)] == ["accepted", "accepted"]
        assert [e for e, _ in await events(service, key)] == [SENT, RESEND, SENT]
    assert len(await messages_to(fake_twilio, phone)) == 2


async def test_past_the_schedule_an_undelivered_sms_fails(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        key = await send(channel, send_command(phone))
        row = await accepted_with(service, key)
        for n in range(1, len(TEST_TIERS) + 1):
            await callback(service, fake_twilio, row, "undelivered", 30003, n=n)
            row = await accepted_with(service, key, not_sid=row.message_sid)
        await callback(service, fake_twilio, row, "undelivered", 30003, n=len(TEST_TIERS) + 1)

        final = await delivery(service, key)
        assert (final.status, final.error_code, final.permanent) == ("undelivered", 30003, True)
        assert final.resends == len(TEST_TIERS)
        reported = await events(service, key)
        assert [e for e, _ in reported].count(RESEND) == len(TEST_TIERS)
        event, data = reported[-1]
        assert event == FAILED
        assert (data["status"], data["error_code"], data["permanent"]) == (
            "undelivered",
            30003,
            True,  # no re-send left and nothing in a DLQ: sessions flags the merchant
        )
    assert len(await messages_to(fake_twilio, phone)) == len(TEST_TIERS) + 1


@pytest.mark.parametrize(("status", "code"), [("undelivered", 30006), ("failed", 30007)])
async def test_a_final_carrier_code_fails_without_resend(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
    status: str,
    code: int,
) -> None:
    phone = random_phone()
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        key = await send(channel, send_command(phone))
        row = await accepted_with(service, key)
        await callback(service, fake_twilio, row, status, code)
        stored = await delivery(service, key)
        assert (stored.status, stored.permanent, stored.resends) == (status, True, 0)
        assert [e for e, _ in await events(service, key)] == [SENT, FAILED]
        await asyncio.sleep(tier(0).total_seconds() * 1.5)
    assert len(await messages_to(fake_twilio, phone)) == 1


async def test_two_racing_retryable_callbacks_schedule_one_resend(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
) -> None:
    """``undelivered`` and ``failed`` for the same message, handled at the same moment (two
    replicas): the delivery row lock and the guarded update let one of them schedule."""
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        key = await send(channel, send_command(random_phone()))
        row = await accepted_with(service, key)
        barrier = asyncio.Barrier(2)
        deps = replace(service.deps, uow=MeetingUnitOfWork(service.deps.uow, barrier))
        racing = [
            StatusCallback(row.message_sid, status, code, row.id, 1)
            for status, code in (("undelivered", 30003), ("failed", 30001))
        ]
        await asyncio.gather(*(record_status_callback(deps, c) for c in racing))

        stored = await delivery(service, key)
        assert (stored.status, stored.resends) == ("resend_scheduled", 1)
        assert [e for e, _ in await events(service, key)] == [SENT, RESEND]


async def test_a_resend_waiting_for_its_tier_is_not_outbox_lag(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    """The staged command is not late until its tier is over: the relay's alerting gauge
    (``messaging_outbox_oldest_pending_seconds``) does not count it meanwhile."""
    schedules = {SEND_QUEUE: ["3s"], RESEND_QUEUE: ["3s"]}
    settings = notifications_settings(public_base_url=PUBLIC_BASE, retry_schedules=schedules)
    async with running(settings) as service:
        key = await send(channel, send_command(random_phone()))
        row = await accepted_with(service, key)
        await callback(service, fake_twilio, row, "undelivered", 30003)
        await asyncio.sleep(2.2)  # the relay samples once a second; the re-send is due at 3 s
        lag = service.app.state.metrics_registry.get_sample_value(
            "messaging_outbox_oldest_pending_seconds"
        )
        assert (await delivery(service, key)).status == "resend_scheduled"
        assert lag is not None and lag < 1.0
        await accepted_with(service, key, not_sid=row.message_sid)
