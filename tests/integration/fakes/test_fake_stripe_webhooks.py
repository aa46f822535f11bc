"""Webhooks from the fake Stripe, verified with the real SDK's ``stripe.Webhook``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import stripe

from tests.fakes.stripe.control import StripeControl
from tests.integration.fakes.webhook_receiver import Receiver, webhook_receiver

DEST = "acct_1Driver0000000000000001"
PAYOUT = {"id": "po_1", "object": "payout", "amount": 1500, "currency": "usd", "status": "paid"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        yield running


def verify(received_body: bytes, header: str, secret: str) -> stripe.Event:
    return stripe.Webhook.construct_event(received_body.decode(), header, secret)


async def test_api_events_are_delivered_signed(
    sc: stripe.StripeClient, fake_stripe: StripeControl, receiver: Receiver
) -> None:
    await fake_stripe.create_account(DEST)
    await fake_stripe.configure(webhook_url=receiver.at("/v1/webhooks/stripe"))
    transfer = await sc.v1.transfers.create_async(
        {"amount": 700, "currency": "usd", "destination": DEST, "transfer_group": "g1"},
        {"idempotency_key": "payout:auto-1"},
    )
    await fake_stripe.drain()
    [received] = receiver.received
    event = verify(received.body, received.headers["Stripe-Signature"], fake_stripe.webhook_secret)
    assert event.type == "transfer.created"
    assert event.data.object["id"] == transfer.id
    assert event.request is not None and event.request.idempotency_key == "payout:auto-1"
    [delivery] = await fake_stripe.webhook_deliveries()
    assert delivery["status"] == 200 and delivery["event_id"] == event.id


async def test_admin_event_accepted_and_tampering_rejected(
    fake_stripe: StripeControl, receiver: Receiver
) -> None:
    result = await fake_stripe.send_webhook("payout.paid", PAYOUT, url=receiver.at("/hook"))
    assert result["deliveries"][0]["status"] == 200
    [received] = receiver.received
    header = received.headers["Stripe-Signature"]
    event = verify(received.body, header, fake_stripe.webhook_secret)
    assert event.id == result["event"]["id"] and event.type == "payout.paid"
    assert event.data.object["amount"] == 1500

    tampered = json.loads(received.body)
    tampered["data"]["object"]["amount"] = 999_999
    with pytest.raises(stripe.SignatureVerificationError):
        verify(json.dumps(tampered, indent=2).encode(), header, fake_stripe.webhook_secret)
    reencoded = json.dumps(json.loads(received.body)).encode()  # decoded and re-encoded
    with pytest.raises(stripe.SignatureVerificationError):
        verify(reencoded, header, fake_stripe.webhook_secret)
    with pytest.raises(stripe.SignatureVerificationError):
        verify(received.body, header, "whsec_some_other_secret")


async def test_stale_signature_is_rejected(fake_stripe: StripeControl, receiver: Receiver) -> None:
    await fake_stripe.send_webhook("payout.paid", PAYOUT, url=receiver.at("/hook"), age_seconds=600)
    [received] = receiver.received
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        verify(received.body, received.headers["Stripe-Signature"], fake_stripe.webhook_secret)


async def test_same_event_can_be_sent_again(fake_stripe: StripeControl, receiver: Receiver) -> None:
    await fake_stripe.configure(webhook_url=receiver.at("/hook"))
    first = await fake_stripe.send_webhook("payout.failed", PAYOUT, times=2)
    again = await fake_stripe.send_webhook(event_id=first["event"]["id"])
    events = [
        verify(r.body, r.headers["Stripe-Signature"], fake_stripe.webhook_secret)
        for r in receiver.received
    ]
    assert len(events) == 3
    assert {e.id for e in events} == {first["event"]["id"]}
    assert again["event"] == first["event"]


async def test_secret_roll_signs_with_each_secret(
    fake_stripe: StripeControl, receiver: Receiver
) -> None:
    old, new = "whsec_old_secret_0001", "whsec_new_secret_0002"
    await fake_stripe.send_webhook("payout.paid", PAYOUT, url=receiver.at("/h"), secrets=[old, new])
    [received] = receiver.received
    header = received.headers["Stripe-Signature"]
    assert header.count("v1=") == 2
    for secret in (old, new):
        assert verify(received.body, header, secret).type == "payout.paid"


async def test_failed_deliveries_are_listed(
    sc: stripe.StripeClient, fake_stripe: StripeControl, receiver: Receiver
) -> None:
    receiver.answer_status = 500
    failed = await fake_stripe.send_webhook("payout.paid", PAYOUT, url=receiver.at("/h"))
    assert failed["deliveries"][0]["status"] == 500
    receiver.answer_status = 200
    ok = await fake_stripe.send_webhook("payout.paid", PAYOUT, url=receiver.at("/h"))
    undelivered = await sc.v1.events.list_async({"delivery_success": False})
    assert [e.id for e in undelivered.data] == [failed["event"]["id"]]
    delivered = await sc.v1.events.list_async({"delivery_success": True})
    assert [e.id for e in delivered.data] == [ok["event"]["id"]]


async def test_unreachable_endpoint_is_recorded(fake_stripe: StripeControl) -> None:
    result = await fake_stripe.send_webhook("payout.paid", PAYOUT, url="http://127.0.0.1:9/h")
    assert result["deliveries"][0]["status"] is None and result["deliveries"][0]["error"]
