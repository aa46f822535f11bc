"""The fake Stripe's webhooks, as delivered over HTTP, against our verifier (§6c 17, 24)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from payments import stripe_requests as req
from payments.stripe_provider import StripePaymentProvider
from payments.stripe_webhooks import StripeWebhookVerifier, WebhookRejectedError

from tests.fakes.stripe.control import StripeControl
from tests.integration.fakes.webhook_receiver import Receiver, webhook_receiver

NEW = "whsec_rolled_in_secret_000000000003"
PATH = "/v1/webhooks/stripe"


@pytest.fixture
async def receiver(fake_stripe: StripeControl) -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        await fake_stripe.configure(webhook_url=running.at(PATH))
        yield running


@pytest.fixture
async def provider(fake_stripe: StripeControl) -> AsyncIterator[StripePaymentProvider]:
    built = StripePaymentProvider.create(
        api_key=fake_stripe.api_key,
        api_version="2026-10-28.endive",
        timeout_seconds=2.0,
        connect_timeout_seconds=1.0,
        api_base=fake_stripe.url,
    )
    try:
        yield built
    finally:
        await built.close()


def only(receiver: Receiver) -> tuple[bytes, str]:
    [received] = receiver.received
    return received.body, received.headers["Stripe-Signature"]


async def test_an_api_event_verifies_and_matches_the_listed_event(
    provider: StripePaymentProvider, fake_stripe: StripeControl, receiver: Receiver
) -> None:
    destination = str((await fake_stripe.create_account())["id"])
    payout_id = str(uuid.uuid4())
    transfer = await provider.create_transfer(
        req.transfer_request(
            payout_id, amount_minor=900, currency="usd", destination=destination, driver_id="d"
        )
    )
    await fake_stripe.drain()
    raw, header = only(receiver)
    event = StripeWebhookVerifier([fake_stripe.webhook_secret]).verify(raw, header)
    assert (event.type, event.object_id) == ("transfer.created", transfer.id)
    assert event.payload["data"]["object"]["metadata"]["payout_id"] == payout_id
    assert event.payload["request"]["idempotency_key"] == f"payout:{payout_id}"
    [listed] = [e async for e in provider.list_events(types=["transfer.created"])]
    assert listed.id == event.event_id and listed.payload == event.payload


async def test_a_rolled_secret_verifies_with_either_configuration(
    fake_stripe: StripeControl, receiver: Receiver
) -> None:
    old = fake_stripe.webhook_secret
    await fake_stripe.send_webhook("payout.paid", {"id": "po_1"}, secrets=[NEW, old])
    raw, header = only(receiver)
    for configured in ([old], [NEW], [NEW, old]):
        assert StripeWebhookVerifier(configured).verify(raw, header).type == "payout.paid"
    with pytest.raises(WebhookRejectedError):
        StripeWebhookVerifier(["whsec_neither_of_them_000000001"]).verify(raw, header)


@pytest.mark.parametrize(
    ("when", "code"),
    [("stale", "webhook_signature_expired"), ("future", "webhook_signature_expired")],
)
async def test_timestamps_out_of_bounds_are_rejected(
    fake_stripe: StripeControl, receiver: Receiver, when: str, code: str
) -> None:
    if when == "stale":
        await fake_stripe.send_webhook("payout.paid", {"id": "po_1"}, age_seconds=301)
    else:
        await fake_stripe.send_webhook(
            "payout.paid", {"id": "po_1"}, timestamp=int(time.time()) + 3600
        )
    raw, header = only(receiver)
    with pytest.raises(WebhookRejectedError) as caught:
        StripeWebhookVerifier([fake_stripe.webhook_secret]).verify(raw, header)
    assert caught.value.code == code


async def test_a_connect_account_updated_event_names_the_account(
    fake_stripe: StripeControl, receiver: Receiver
) -> None:
    account = await fake_stripe.create_account(ready=False)
    await fake_stripe.update_account(
        account["id"], payouts_enabled=True, transfers="active", currently_due=[]
    )
    await fake_stripe.drain()
    raw, header = only(receiver)
    event = StripeWebhookVerifier([fake_stripe.webhook_secret]).verify(raw, header)
    assert (event.type, event.account, event.object_id) == (
        "account.updated",
        account["id"],
        account["id"],
    )
    assert event.payload["data"]["object"]["payouts_enabled"] is True
    assert event.payload["data"]["previous_attributes"]["payouts_enabled"] is False
