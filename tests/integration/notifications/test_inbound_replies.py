"""Inbound SMS: signature checked, deduplicated by MessageSid, answered with TwiML at once,
matched to the delivery it answers, STOP/START mirrored; phones encrypted, bodies kept."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from aio_pika.abc import AbstractChannel
from messaging.envelope import Envelope
from notifications import tables
from sqlalchemy import select

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.sms import (
    PUBLIC_BASE,
    creates_to,
    delivery,
    events,
    messages_to,
    post_signed,
    random_phone,
    send,
    send_command,
)
from tests.support.notifications_service import Notifications, SettingsFactory, running
from tests.support.polling import eventually, truthy

INBOUND = "/v1/webhooks/twilio/sms"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def inbound_params(fake_twilio: TwilioControl, from_: str, body: str) -> dict[str, str]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "US",
        "To": fake_twilio.config.from_number,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": fake_twilio.account_sid,
        "From": from_,
        "ApiVersion": "2010-04-01",
        "FromCity": "",
    }


async def reply(
    service: Notifications, fake_twilio: TwilioControl, from_: str, body: str, **kw: Any
) -> tuple[Any, dict[str, str]]:
    params = kw.pop("params", None) or inbound_params(fake_twilio, from_, body)
    answer = await post_signed(service, INBOUND, params, auth_token=fake_twilio.auth_token, **kw)
    return answer, params


async def replies(service: Notifications) -> list[dict[str, Any]]:
    outbox = tables.messaging.outbox
    async with service.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.body)
            .where(outbox.c.message_type == "sms.reply_received.v1")
            .order_by(outbox.c.id)
        )
        return [Envelope.from_bytes(body).data for (body,) in rows]


async def reply_to(service: Notifications, message_sid: str) -> list[dict[str, Any]]:
    return [r for r in await replies(service) if r["message_sid"] == message_sid]


async def sent_to(service: Notifications, channel: AbstractChannel, phone: str, code: str) -> Any:
    key = await send(channel, send_command(phone, reply_code=code))

    async def probe() -> Any:
        row = await delivery(service, key)
        return row if row is not None and row.message_sid else None

    return await eventually(truthy(probe), what="the service to act on it", timeout=20)


@pytest.mark.parametrize("case", ["missing", "forged", "internal_url"])
async def test_a_bad_signature_on_the_inbound_webhook_is_403_and_stores_nothing(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl, case: str
) -> None:
    kw: dict[str, Any] = {
        "missing": {"sign": False},
        "forged": {"signature": "bm90IGEgc2lnbmF0dXJl"},
        "internal_url": {"public_url": f"http://notifications:8003{INBOUND}"},
    }[case]
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        answer, params = await reply(service, fake_twilio, random_phone(), "DONE 1234", **kw)
        assert answer.status_code == 403
        assert answer.json()["code"] == "webhook_signature_invalid"
        assert await reply_to(service, params["MessageSid"]) == []


async def test_a_reply_is_matched_among_three_open_deliveries_by_its_code(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        first, second, third = [
            await sent_to(service, channel, phone, c) for c in ("1111", "2222", "3333")
        ]
        answer, params = await reply(service, fake_twilio, phone, "  done #2222! ")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/xml")
        assert answer.text == EMPTY_TWIML
        [event] = await reply_to(service, params["MessageSid"])
        assert event["keyword"] == "done" and event["reply_code"] == "2222"
        assert event["reference"] == {"kind": "session", "id": second.reference_id}
        assert (await delivery(service, second.delivery_key)).replied_at is not None
        assert (await delivery(service, first.delivery_key)).replied_at is None

        _, without_code = await reply(service, fake_twilio, phone, "DONE")  # two still open
        [unmatched] = await reply_to(service, without_code["MessageSid"])
        assert unmatched["keyword"] == "done" and unmatched["reference"] is None
        assert third.reply_code == "3333"


async def test_a_reply_without_code_matches_the_only_open_delivery(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        only = await sent_to(service, channel, phone, "4821")
        _, params = await reply(service, fake_twilio, phone, "Done")
        [event] = await reply_to(service, params["MessageSid"])
    assert event["reference"] == {"kind": "session", "id": only.reference_id}
    assert event["reply_code"] == "4821"


async def test_a_retried_inbound_sms_is_stored_and_published_once(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        phone = random_phone()
        first, params = await reply(service, fake_twilio, phone, "HELP")
        again, _ = await reply(service, fake_twilio, phone, "HELP", params=params)
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.text == EMPTY_TWIML
        [event] = await reply_to(service, params["MessageSid"])
        assert event["keyword"] == "help"
        stored = await _inbound(service, params["MessageSid"])
    assert len(stored) == 1
    row = stored[0]
    assert row.body == "HELP"
    assert phone.encode() not in row.phone_ciphertext and phone.encode() not in row.phone_hash


async def test_stop_blocks_sends_without_calling_twilio_until_start(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        _, params = await reply(service, fake_twilio, phone, "stop")
        [event] = await reply_to(service, params["MessageSid"])
        assert event["keyword"] == "stop"

        blocked = await send(channel, send_command(phone))

        async def failed() -> bool:
            row = await delivery(service, blocked)
            return row is not None and row.status == "failed"

        await eventually(truthy(failed), what="the service to act on it", timeout=10)
        row = await delivery(service, blocked)
        assert (row.failure_reason, row.permanent, row.error_code) == ("opted_out", True, 21610)
        assert [e for e, _ in await events(service, blocked)] == ["notification.sms_failed.v1"]
        assert await creates_to(fake_twilio, phone) == []

        await reply(service, fake_twilio, phone, "START")
        await sent_to(service, channel, phone, "5555")
        assert len(await messages_to(fake_twilio, phone)) == 1


async def _inbound(service: Notifications, message_sid: str) -> list[Any]:
    t = tables.inbound_sms
    async with service.engine.connect() as conn:
        return list(await conn.execute(select(t).where(t.c.message_sid == message_sid)))
