"""Sending through the real twilio SDK against the fake Twilio and its fault knobs, with the
command arriving on the real RabbitMQ and retries going through the real retry tiers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aio_pika.abc import AbstractChannel
from notifications import tables
from notifications.settings import SEND_QUEUE
from sqlalchemy import select

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.sms import (
    attempts,
    creates_to,
    delivery,
    events,
    messages_to,
    random_phone,
    send,
    send_command,
)
from tests.support.notifications_service import (
    TEST_TIERS,
    Notifications,
    SettingsFactory,
    running,
)
from tests.support.polling import eventually, truthy

JITTER_LOW = 0.8  # retry tiers have buckets x0.8 / x1.0 / x1.2


def tier(i: int) -> timedelta:
    return timedelta(seconds=int(TEST_TIERS[i].removesuffix("s")) * JITTER_LOW)


async def status_of(service: Notifications, key: str) -> str | None:
    row = await delivery(service, key)
    return None if row is None else str(row.status)


async def reaches(service: Notifications, key: str, *statuses: str, within: float = 20) -> Any:
    async def probe() -> bool:
        return await status_of(service, key) in statuses

    await eventually(truthy(probe), what="the service to act on it", timeout=within)
    return await delivery(service, key)


async def test_a_command_sends_one_sms_and_reports_it_sent(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings()) as service:
        key = await send(channel, send_command(phone, reply_code="4821"))
        row = await reaches(service, key, "accepted")
        [sent] = await messages_to(fake_twilio, phone)
        assert "DONE 4821" in sent["body"]
        assert row.message_sid == sent["sid"]
        [request] = await creates_to(fake_twilio, phone)
        params = dict(request["params"])
        assert params["StatusCallback"] == (
            f"http://127.0.0.1:9/v1/webhooks/twilio/status?d={row.id}&n=1"
        )
        assert params["MessagingServiceSid"] == fake_twilio.config.messaging_service_sid
        assert [e for e, _ in await events(service, key)] == ["notification.sms_sent.v1"]
        [(_, data)] = await events(service, key)
        assert data["status"] == "accepted" and data["reference"]["kind"] == "session"


async def test_failing_twice_then_succeeding_sends_one_sms_after_the_tier_delays(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    await fake_twilio.fail_next("messages.create", status=503, times=2)
    async with running(notifications_settings()) as service:
        key = await send(channel, send_command(phone))
        await reaches(service, key, "accepted")
        tries = await attempts(service, key)
    assert [a.outcome for a in tries] == ["not_sent", "not_sent", "accepted"]
    assert tries[1].started_at - tries[0].started_at >= tier(0)
    assert tries[2].started_at - tries[1].started_at >= tier(1)
    assert len(await messages_to(fake_twilio, phone)) == 1


async def test_always_failing_lands_in_the_dlq_and_a_replay_sends_exactly_one_sms(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    await fake_twilio.fail_next("messages.create", status=503, times=None)
    command = send_command(phone)
    async with running(notifications_settings()) as service:
        key = await send(channel, command)
        await reaches(service, key, "dead_lettered", within=30)
        dead = await eventually(
            truthy(lambda: _dead_letter(service, str(command.message_id))),
            what="the service to act on it",
            timeout=10,
        )
        headers = dead.headers
        assert headers["x-failure-kind"] == "exhausted"
        assert headers["x-retry-attempt"] == len(TEST_TIERS) + 1
        assert headers["x-original-queue"] == SEND_QUEUE
        assert "TransientError" in headers["x-exception-type"]
        assert [e for e, _ in await events(service, key)] == ["notification.sms_failed.v1"]
        assert (await events(service, key))[0][1]["permanent"] is False
        assert await messages_to(fake_twilio, phone) == []

        await fake_twilio.clear_faults()
        replayed = await service.http.post(
            f"/v1/admin/dead-letters/{dead.id}/replay", headers=service.admin_headers()
        )
        assert replayed.status_code == 200, replayed.text
        await reaches(service, key, "accepted")
        assert len(await messages_to(fake_twilio, phone)) == 1
        assert [e for e, _ in await events(service, key)] == [
            "notification.sms_failed.v1",
            "notification.sms_sent.v1",
        ]


async def test_a_permanent_code_fails_at_once_without_retry(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    await fake_twilio.fail_next("messages.create", status=400, code=21211, times=None)
    async with running(notifications_settings()) as service:
        key = await send(channel, send_command(phone))
        row = await reaches(service, key, "failed")
        assert row.permanent is True and row.error_code == 21211
        [(event, data)] = await events(service, key)
        assert event == "notification.sms_failed.v1"
        assert data["permanent"] is True and data["error_code"] == 21211
        await asyncio.sleep(float(tier(0).total_seconds()) * 2)  # past the first retry tier
        assert [a.outcome for a in await attempts(service, key)] == ["failed"]
        assert len(await creates_to(fake_twilio, phone)) == 1


async def test_a_429_waits_at_least_its_retry_after(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    retry_after = timedelta(seconds=2)  # the fake sends it as Retry-After
    await fake_twilio.fail_next(
        "messages.create", status=429, code=20429, seconds=retry_after.total_seconds()
    )
    async with running(notifications_settings()) as service:
        key = await send(channel, send_command(phone))
        await reaches(service, key, "accepted")
        first, second = await attempts(service, key)
        [throttled, _] = await creates_to(fake_twilio, phone)
    assert (first.outcome, first.error_code) == ("not_sent", 20429)
    assert throttled["status"] == 429
    # the 2s tier, not the scheduled 1s one, and never its 0.8x jitter bucket
    assert second.started_at - first.started_at >= retry_after


async def test_a_timeout_after_twilio_accepted_the_message_sends_no_second_sms(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    await fake_twilio.commit_then_timeout("messages.create", seconds=10)
    async with running(notifications_settings()) as service:
        key = await send(channel, send_command(phone))
        # Adopted as the lookup found it: by then the fake has delivered it.
        row = await reaches(service, key, "accepted", "sent", "delivered")
        [sent] = await messages_to(fake_twilio, phone)
        assert row.message_sid == sent["sid"]
        [only] = await attempts(service, key)
        assert (only.outcome, only.message_sid) == ("adopted", sent["sid"])
        assert len(await creates_to(fake_twilio, phone)) == 1
        reported = [e for e, _ in await events(service, key)]
        assert reported[0] == "notification.sms_sent.v1"
        assert "notification.sms_failed.v1" not in reported


async def test_the_same_command_twice_sends_one_sms(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    first = send_command(phone)
    again = send_command(phone, delivery_key=str(first.data["delivery_key"]))
    async with running(notifications_settings()) as service:
        registry = service.app.state.metrics_registry
        key = await send(channel, first)
        await send(channel, first)  # the same message redelivered
        await send(channel, again)  # the same delivery key in a new message

        async def all_acked() -> bool:
            acked = registry.get_sample_value(
                "messaging_consumed_total", {"queue": SEND_QUEUE, "outcome": "acked"}
            )
            return (acked or 0) >= 3

        await eventually(truthy(all_acked), what="the service to act on it", timeout=20)
        assert await status_of(service, key) == "accepted"
        assert [e for e, _ in await events(service, key)] == ["notification.sms_sent.v1"]
    assert len(await messages_to(fake_twilio, phone)) == 1


async def test_an_invalid_number_or_template_fails_permanently_without_calling_twilio(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings()) as service:
        bad_number = await send(channel, send_command("0800-CALL-ME"))
        bad_template = await send(channel, send_command(phone, template="nope"))
        for key, reason in ((bad_number, "invalid_number"), (bad_template, "invalid_template")):
            row = await reaches(service, key, "failed")
            assert (row.failure_reason, row.permanent) == (reason, True)
            assert [e for e, _ in await events(service, key)] == ["notification.sms_failed.v1"]
    assert await creates_to(fake_twilio, phone) == []
    assert await creates_to(fake_twilio, "0800-CALL-ME") == []


async def _dead_letter(service: Notifications, message_id: str) -> Any:
    failed = tables.messaging.failed_messages
    async with service.engine.connect() as conn:
        return (await conn.execute(select(failed).where(failed.c.message_id == message_id))).first()
