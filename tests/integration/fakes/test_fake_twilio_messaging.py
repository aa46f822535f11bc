"""The fake Twilio Messaging API, signed status callbacks and inbound SMS, via the real SDK."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.twilio.control import TwilioControl
from tests.integration.fakes.webhook_receiver import Receiver, webhook_receiver

MERCHANT = "+14155550111"
DRIVER = "+14155550122"


@pytest.fixture
async def twilio(fake_twilio: TwilioControl) -> AsyncIterator[Client]:
    client = fake_twilio.client(api_key=True)
    try:
        yield client
    finally:
        await client.http_client.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        yield running


def signed_ok(fake: TwilioControl, url: str, form: dict[str, str], signature: str) -> bool:
    return bool(RequestValidator(fake.auth_token).validate(url, form, signature))


async def test_message_then_signed_sent_and_delivered_callbacks(
    twilio: Client, fake_twilio: TwilioControl, receiver: Receiver
) -> None:
    callback = receiver.at("/v1/webhooks/twilio/status?tenant=a")
    message = await twilio.messages.create_async(
        to=MERCHANT,
        from_=fake_twilio.config.from_number,
        body="Driver arriving",
        status_callback=callback,
    )
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued" and message.direction == "outbound-api"
    assert message.to == MERCHANT and message.body == "Driver arriving"

    assert await fake_twilio.drain() >= 1
    statuses = [r.form["MessageStatus"] for r in receiver.received]
    assert statuses == ["sent", "delivered"]
    for received in receiver.received:
        assert received.path == "/v1/webhooks/twilio/status"
        assert received.form["MessageSid"] == message.sid
        assert received.form["AccountSid"] == fake_twilio.account_sid
        assert received.headers["I-Twilio-Idempotency-Token"]
        assert signed_ok(
            fake_twilio, callback, received.form, received.headers["X-Twilio-Signature"]
        )
        tampered = {**received.form, "MessageStatus": "failed"}
        assert not signed_ok(
            fake_twilio, callback, tampered, received.headers["X-Twilio-Signature"]
        )

    fetched = await twilio.messages(message.sid).fetch_async()
    assert fetched.status == "delivered" and fetched.date_sent is not None


async def test_default_status_callback_and_messaging_service(
    twilio: Client, fake_twilio: TwilioControl, receiver: Receiver
) -> None:
    await fake_twilio.configure(status_callback_url=receiver.at("/status"))
    message = await twilio.messages.create_async(
        to=MERCHANT, messaging_service_sid=fake_twilio.config.messaging_service_sid, body="hi"
    )
    assert message.status == "accepted"
    await fake_twilio.drain()
    assert [r.form["MessageStatus"] for r in receiver.received] == ["sent", "delivered"]
    assert (
        receiver.received[0].form["MessagingServiceSid"] == fake_twilio.config.messaging_service_sid
    )


@pytest.mark.parametrize(
    ("status", "expected"), [("undelivered", ["sent", "undelivered"]), ("failed", ["failed"])]
)
async def test_injected_delivery_failure(
    twilio: Client,
    fake_twilio: TwilioControl,
    receiver: Receiver,
    status: str,
    expected: list[str],
) -> None:
    await fake_twilio.fail_delivery(status=status, error_code=30005, to=MERCHANT)
    callback = receiver.at("/status")
    other = await twilio.messages.create_async(
        to=DRIVER, from_=fake_twilio.config.from_number, body="x", status_callback=callback
    )
    failing = await twilio.messages.create_async(
        to=MERCHANT, from_=fake_twilio.config.from_number, body="y", status_callback=callback
    )
    await fake_twilio.drain()
    by_sid: dict[str, list[dict[str, str]]] = {}
    for received in receiver.received:
        by_sid.setdefault(received.form["MessageSid"], []).append(received.form)
    assert [f["MessageStatus"] for f in by_sid[other.sid]] == ["sent", "delivered"]
    assert [f["MessageStatus"] for f in by_sid[failing.sid]] == expected
    assert by_sid[failing.sid][-1]["ErrorCode"] == "30005"
    fetched = await twilio.messages(failing.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == (status, 30005)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "415555", "body": "x"}, 21211),
        ({"to": MERCHANT}, 21602),
        ({"to": MERCHANT, "body": "x" * 1601}, 21617),
        ({"to": MERCHANT, "body": "x", "from_": "+19995550000"}, 21606),
    ],
)
async def test_invalid_messages_are_400(
    twilio: Client, fake_twilio: TwilioControl, kwargs: dict[str, str], code: int
) -> None:
    kwargs.setdefault("from_", fake_twilio.config.from_number)
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(**kwargs)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert await fake_twilio.messages() == []


async def test_missing_sender_is_21603(twilio: Client, fake_twilio: TwilioControl) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(to=MERCHANT, body="x")
    assert caught.value.code == 21603


async def test_unknown_message_is_20404(twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages("SM" + "0" * 32).fetch_async()
    assert (caught.value.status, caught.value.code) == (404, 20404)


async def test_list_messages_by_recipient(twilio: Client, fake_twilio: TwilioControl) -> None:
    for to in (MERCHANT, DRIVER, MERCHANT):
        await twilio.messages.create_async(to=to, from_=fake_twilio.config.from_number, body="x")
    listed = await twilio.messages.list_async(to=MERCHANT)
    assert len(listed) == 2 and {m.to for m in listed} == {MERCHANT}


async def test_rate_limit_then_success(twilio: Client, fake_twilio: TwilioControl) -> None:
    await fake_twilio.fail_next("messages.create", status=429, code=20429)
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(
            to=MERCHANT, from_=fake_twilio.config.from_number, body="x"
        )
    assert (caught.value.status, caught.value.code) == (429, 20429)
    await twilio.messages.create_async(to=MERCHANT, from_=fake_twilio.config.from_number, body="x")
    assert len(await fake_twilio.messages()) == 1
    assert await fake_twilio.calls("messages.create") == 2


async def test_commit_then_timeout_still_sends(twilio: Client, fake_twilio: TwilioControl) -> None:
    await fake_twilio.commit_then_timeout("messages.create", seconds=30)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await twilio.messages.create_async(
                to=MERCHANT, from_=fake_twilio.config.from_number, body="x"
            )
    await fake_twilio.drain()
    [sent] = await fake_twilio.messages()
    assert sent["status"] == "delivered"


async def test_inbound_sms_is_signed_and_replayable(
    fake_twilio: TwilioControl, receiver: Receiver
) -> None:
    url = receiver.at("/v1/webhooks/twilio/sms")
    await fake_twilio.configure(inbound_webhook_url=url)
    result = await fake_twilio.send_inbound_sms(from_=MERCHANT, body="DONE", times=2)
    assert [d["status"] for d in result["deliveries"]] == [200, 200]
    first, replay = receiver.received
    assert first.form["Body"] == "DONE" and first.form["From"] == MERCHANT
    assert first.form["To"] == fake_twilio.config.from_number
    assert first.form["MessageSid"] == result["message_sid"]
    assert first.form["AccountSid"] == fake_twilio.account_sid
    assert first.form["SmsStatus"] == "received"
    assert signed_ok(fake_twilio, url, first.form, first.headers["X-Twilio-Signature"])
    assert not signed_ok(fake_twilio, url + "x", first.form, first.headers["X-Twilio-Signature"])
    assert replay.form == first.form
    assert (
        replay.headers["I-Twilio-Idempotency-Token"] == first.headers["I-Twilio-Idempotency-Token"]
    )


async def test_inbound_signature_uses_public_url_override(
    fake_twilio: TwilioControl, receiver: Receiver
) -> None:
    public = "https://api.nerava.example/v1/webhooks/twilio/sms"
    await fake_twilio.configure(signature_url_override=public)
    await fake_twilio.send_inbound_sms(from_=MERCHANT, body="DONE", url=receiver.at("/sms"))
    [received] = receiver.received
    assert signed_ok(fake_twilio, public, received.form, received.headers["X-Twilio-Signature"])


async def test_inbound_delivery_failure_is_reported(
    fake_twilio: TwilioControl, receiver: Receiver
) -> None:
    receiver.answer_status = 503
    result = await fake_twilio.send_inbound_sms(
        from_=MERCHANT, body="DONE", url=receiver.at("/sms")
    )
    assert result["deliveries"][0]["status"] == 503
    result = await fake_twilio.send_inbound_sms(
        from_=MERCHANT, body="DONE", url="http://127.0.0.1:9/unreachable"
    )
    assert result["deliveries"][0]["error"]
    assert result["deliveries"][0]["attempts"] == 2  # a connection failure is retried once
