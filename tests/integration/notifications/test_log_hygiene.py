"""No phone number and no message body reaches a log line: sends (accepted, failed, retried,
re-sent after an undelivered callback), status callbacks and inbound replies, at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from aio_pika.abc import AbstractChannel
from common.logs import ContextFilter, JsonFormatter

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.sms import (
    PUBLIC_BASE,
    delivery,
    post_signed,
    random_phone,
    send,
    send_command,
    status_params,
)
from tests.integration.notifications.test_inbound_replies import INBOUND, inbound_params
from tests.support.notifications_service import SettingsFactory, running
from tests.support.polling import eventually, truthy


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.addFilter(ContextFilter("notifications"))
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[_Capture]:
    handler = _Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_sends_callbacks_and_replies_log_no_phone_or_body(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
    captured: _Capture,
) -> None:
    phone, merchant_words = random_phone(), "Kindly bring oat milk for table nine"
    settings = notifications_settings(public_base_url=PUBLIC_BASE, log_level="DEBUG")
    async with running(settings) as service:
        await fake_twilio.fail_next("messages.create", status=400, code=21211)
        rejected = await send(channel, send_command(phone))

        async def rejected_first() -> bool:  # each injected failure meets its own command
            row = await delivery(service, rejected)
            return row is not None and row.status == "failed"

        await eventually(truthy(rejected_first), what="the service to act on it", timeout=20)
        await fake_twilio.fail_next("messages.create", status=503)
        retried = await send(channel, send_command(phone, reply_code="7310"))

        async def settled() -> bool:
            rows = [await delivery(service, k) for k in (rejected, retried)]
            return all(r is not None and r.status in ("failed", "accepted") for r in rows)

        await eventually(truthy(settled), what="the service to act on it", timeout=20)
        row = await delivery(service, retried)
        await post_signed(  # undelivered, retryable: re-sent after the first tier
            service,
            "/v1/webhooks/twilio/status",
            status_params(fake_twilio, row.message_sid, "undelivered", 30003),
            auth_token=fake_twilio.auth_token,
            query=f"d={row.id}&n=2",
        )

        async def resent() -> bool:
            again = await delivery(service, retried)
            return again.message_sid not in (None, row.message_sid)

        await eventually(truthy(resent), what="the re-send", timeout=20)
        row = await delivery(service, retried)
        await post_signed(
            service,
            "/v1/webhooks/twilio/status",
            status_params(fake_twilio, row.message_sid, "delivered"),
            auth_token=fake_twilio.auth_token,
            query=f"d={row.id}&n=3",
        )
        for body in ("DONE 7310", merchant_words, "STOP"):
            await post_signed(
                service,
                INBOUND,
                inbound_params(fake_twilio, phone, body),
                auth_token=fake_twilio.auth_token,
            )
    text = "\n".join(captured.lines)
    assert captured.lines
    for secret in (phone, phone[1:], phone[2:], merchant_words, "Reply DONE"):
        assert secret not in text, secret
