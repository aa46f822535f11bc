"""Twilio's status callbacks: signature checked against the public URL, applied forward only,
duplicates absorbed, terminal statuses reported once to the session that asked."""

from __future__ import annotations

from typing import Any

import pytest
from aio_pika.abc import AbstractChannel
from notifications import tables
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.sms import (
    PUBLIC_BASE,
    delivery,
    events,
    post_signed,
    random_phone,
    send,
    send_command,
    status_params,
)
from tests.support.notifications_service import Notifications, SettingsFactory, running
from tests.support.polling import eventually, truthy

STATUS = "/v1/webhooks/twilio/status"


async def callback_rows(service: Notifications) -> int:
    async with service.engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(tables.sms_status_callbacks))
    return int(count or 0)


async def accepted(service: Notifications, channel: AbstractChannel) -> Any:
    key = await send(channel, send_command(random_phone()))

    async def probe() -> Any:
        row = await delivery(service, key)
        return row if row is not None and row.message_sid else None

    return await eventually(truthy(probe), what="the service to act on it", timeout=20)


@pytest.mark.parametrize(
    "case", ["missing", "forged", "internal_url", "query_dropped", "tampered", "wrong_token"]
)
async def test_a_bad_signature_is_403_and_changes_nothing(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
    case: str,
) -> None:
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        row = await accepted(service, channel)
        params = status_params(fake_twilio, row.message_sid, "delivered")
        query = f"d={row.id}&n=1"
        token = fake_twilio.auth_token
        kwargs: dict[str, Any] = {"auth_token": token, "query": query}
        if case == "missing":
            kwargs["sign"] = False
        elif case == "forged":
            kwargs["signature"] = "bm90IGEgc2lnbmF0dXJl"
        elif case == "internal_url":  # signed for the URL the service sees, not the public one
            kwargs["public_url"] = f"http://notifications:8003{STATUS}?{query}"
        elif case == "query_dropped":
            kwargs["public_url"] = f"{PUBLIC_BASE}{STATUS}"
            kwargs["signature"] = _signature(token, f"{PUBLIC_BASE}{STATUS}?{query}", params)
        elif case == "tampered":
            kwargs["signature"] = _signature(token, f"{PUBLIC_BASE}{STATUS}?{query}", params)
            params = {**params, "MessageStatus": "failed"}
        else:
            kwargs["auth_token"] = "not-the-account-token-at-all-0000"
        before = await callback_rows(service)
        answer = await post_signed(service, STATUS, params, **kwargs)
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "webhook_signature_invalid"
        assert await callback_rows(service) == before
        assert (await delivery(service, row.delivery_key)).status == "accepted"


async def test_callbacks_out_of_order_and_duplicated_move_the_delivery_forward_once(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        row = await accepted(service, channel)
        sid, query = row.message_sid, f"d={row.id}&n=1"
        for status in ("delivered", "sent", "delivered", "queued"):
            answer = await post_signed(
                service,
                STATUS,
                status_params(fake_twilio, sid, status),
                auth_token=fake_twilio.auth_token,
                query=query,
            )
            assert answer.status_code == 204, answer.text
        assert (await delivery(service, row.delivery_key)).status == "delivered"
        assert [e for e, _ in await events(service, row.delivery_key)] == [
            "notification.sms_sent.v1",
            "notification.sms_delivered.v1",
        ]
        applied = await _applied(service, sid)
    assert applied == {"delivered": True, "sent": False, "queued": False}


async def test_a_failed_delivery_is_reported_with_its_code(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        row = await accepted(service, channel)
        answer = await post_signed(
            service,
            STATUS,
            status_params(fake_twilio, row.message_sid, "undelivered", 30006),
            auth_token=fake_twilio.auth_token,
            query=f"d={row.id}&n=1",
        )
        assert answer.status_code == 204
        stored = await delivery(service, row.delivery_key)
        assert (stored.status, stored.error_code, stored.permanent) == ("undelivered", 30006, True)
        event, data = (await events(service, row.delivery_key))[-1]
        assert event == "notification.sms_failed.v1"
        assert (data["error_code"], data["permanent"], data["status"]) == (
            30006,
            True,
            "undelivered",
        )


async def test_the_fakes_own_callbacks_verify_and_apply(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    """What the fake Twilio posted (to the unreachable public URL) arrives through the gateway."""
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        row = await accepted(service, channel)
        await fake_twilio.drain()
        posted = [
            d
            for d in (await fake_twilio.state())["webhook_deliveries"]
            if d["params"]["MessageSid"] == row.message_sid
        ]
        assert [d["params"]["MessageStatus"] for d in posted] == ["sent", "delivered"]
        for d in posted:
            path, _, query = d["url"].removeprefix(PUBLIC_BASE).partition("?")
            answer = await post_signed(
                service, path, d["params"], auth_token=fake_twilio.auth_token, query=query
            )
            assert answer.status_code == 204, answer.text
        assert (await delivery(service, row.delivery_key)).status == "delivered"


def _signature(token: str, url: str, params: dict[str, str]) -> str:
    signed: str = RequestValidator(token).compute_signature(url, params)
    return signed


async def _applied(service: Notifications, sid: str) -> dict[str, bool]:
    t = tables.sms_status_callbacks
    async with service.engine.connect() as conn:
        rows = await conn.execute(
            select(t.c.message_status, t.c.applied).where(t.c.message_sid == sid)
        )
        return {status: applied for status, applied in rows}
