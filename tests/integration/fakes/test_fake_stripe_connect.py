"""The fake Stripe's Connect side (Express accounts, account links, reversals), via the real SDK."""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.fakes.stripe.control import StripeControl
from tests.integration.fakes.webhook_receiver import webhook_receiver

RETURN_URL = "https://driver.nerava.test/payouts/onboarded"
REFRESH_URL = "https://driver.nerava.test/payouts/onboarding-expired"


def key(prefix: str = "k") -> str:
    return f"{prefix}:{uuid.uuid4()}"


async def express_account(sc: stripe.StripeClient) -> stripe.Account:
    return await sc.v1.accounts.create_async(
        {
            "type": "express",
            "country": "US",
            "email": "driver@nerava.test",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"driver_id": "d1"},
        },
        {"idempotency_key": key("account")},
    )


async def onboarding_link(sc: stripe.StripeClient, account_id: str) -> stripe.AccountLink:
    return await sc.v1.account_links.create_async(
        {
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": REFRESH_URL,
            "return_url": RETURN_URL,
        },
        {"idempotency_key": key("link")},
    )


async def test_new_express_account_cannot_receive_transfers(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    account = await express_account(sc)
    assert account.id.startswith("acct_") and account.type == "express"
    assert (account.payouts_enabled, account.details_submitted) == (False, False)
    assert account.capabilities is not None and account.capabilities.transfers == "inactive"
    assert account.metadata["driver_id"] == "d1"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.transfers.create_async(
            {"amount": 500, "currency": "usd", "destination": account.id},
            {"idempotency_key": key("payout")},
        )
    assert caught.value.code == "insufficient_capabilities_for_transfer"
    assert await fake_stripe.transfers() == []


async def test_express_account_validation(sc: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.accounts.create_async({"type": "express", "country": "US"})
    assert caught.value.param == "capabilities"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.accounts.retrieve_async("acct_missing")
    assert caught.value.http_status == 404


async def test_onboarding_link_enables_payouts_and_emits_account_updated(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    account = await express_account(sc)
    link = await onboarding_link(sc, account.id)
    assert link.object == "account_link" and link.expires_at == link.created + 300
    assert await fake_stripe.visit_onboarding(link.url) == RETURN_URL
    assert await fake_stripe.visit_onboarding(link.url) == REFRESH_URL  # single use
    ready = await sc.v1.accounts.retrieve_async(account.id)
    assert (ready.payouts_enabled, ready.details_submitted) == (True, True)
    assert ready.capabilities is not None and ready.capabilities.transfers == "active"
    assert ready.requirements is not None and ready.requirements.currently_due == []

    assert (await sc.v1.events.list_async({"type": "account.updated"})).data == []
    listed = await sc.v1.events.list_async(
        {"type": "account.updated"}, {"stripe_account": account.id}
    )
    [event] = listed.data
    assert event.account == account.id
    assert event.data.object["payouts_enabled"] is True
    assert event.data.previous_attributes is not None
    assert event.data.previous_attributes["payouts_enabled"] is False

    transfer = await sc.v1.transfers.create_async(
        {"amount": 500, "currency": "usd", "destination": account.id},
        {"idempotency_key": key("payout")},
    )
    assert transfer.destination == account.id


async def test_expired_link_redirects_to_refresh(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    account = await express_account(sc)
    link = await onboarding_link(sc, account.id)
    await fake_stripe.advance_clock(301)
    assert await fake_stripe.visit_onboarding(link.url) == REFRESH_URL
    assert (await sc.v1.accounts.retrieve_async(account.id)).payouts_enabled is False


async def test_account_link_validation(sc: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await onboarding_link(sc, "acct_missing")
    assert (caught.value.http_status, caught.value.param) == (400, "account")
    account = await express_account(sc)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.account_links.create_async(
            {"account": account.id, "type": "account_onboarding", "return_url": RETURN_URL}
        )
    assert caught.value.param == "refresh_url"


async def test_payouts_disabled_later_is_an_account_updated_webhook(
    fake_stripe: StripeControl,
) -> None:
    async with webhook_receiver() as receiver:
        await fake_stripe.configure(webhook_url=receiver.at("/v1/webhooks/stripe"))
        account = await fake_stripe.create_account()
        await fake_stripe.update_account(account["id"], payouts_enabled=False, currently_due=["x"])
        await fake_stripe.update_account(account["id"], payouts_enabled=False)  # no change
        await fake_stripe.drain()
        [received] = receiver.received
    event = stripe.Webhook.construct_event(
        received.body, received.headers["Stripe-Signature"], fake_stripe.webhook_secret
    )
    assert (event.type, event.account) == ("account.updated", account["id"])
    assert event.data.object["payouts_enabled"] is False
    assert event.data.previous_attributes["payouts_enabled"] is True


# ---------------------------------------------------------------- transfer reversals


async def test_reversal_returns_the_money_once(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    account = await fake_stripe.create_account()
    await fake_stripe.set_balance(available=10_000)
    transfer = await sc.v1.transfers.create_async(
        {"amount": 1500, "currency": "usd", "destination": account["id"], "transfer_group": "g"},
        {"idempotency_key": key("payout")},
    )
    reversal_key = key("reversal")
    partial = await sc.v1.transfers.reversals.create_async(
        transfer.id,
        {"amount": 500, "metadata": {"reason": "dup"}},
        {"idempotency_key": reversal_key},
    )
    again = await sc.v1.transfers.reversals.create_async(
        transfer.id,
        {"amount": 500, "metadata": {"reason": "dup"}},
        {"idempotency_key": reversal_key},
    )
    assert partial.id.startswith("trr_") and again.id == partial.id
    assert (partial.amount, partial.transfer) == (500, transfer.id)
    rest = await sc.v1.transfers.reversals.create_async(
        transfer.id, options={"idempotency_key": key("reversal")}
    )
    assert rest.amount == 1000
    after = await sc.v1.transfers.retrieve_async(transfer.id)
    assert (after.amount_reversed, after.reversed) == (1500, True)
    listed = await sc.v1.transfers.reversals.list_async(transfer.id)
    assert [r.id for r in listed.data] == [rest.id, partial.id]
    fetched = await sc.v1.transfers.reversals.retrieve_async(transfer.id, partial.id)
    assert fetched.amount == 500
    balance = await sc.v1.balance.retrieve_async()
    assert balance.available[0].amount == 10_000
    with pytest.raises(stripe.InvalidRequestError, match="already been reversed"):
        await sc.v1.transfers.reversals.create_async(
            transfer.id, options={"idempotency_key": key("reversal")}
        )
    events = await sc.v1.events.list_async({"type": "transfer.reversed"})
    assert len(events.data) == 2
    assert len(await fake_stripe.transfer_reversals()) == 2


async def test_reversal_over_the_amount_left_is_refused(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    account = await fake_stripe.create_account()
    transfer = await sc.v1.transfers.create_async(
        {"amount": 700, "currency": "usd", "destination": account["id"]},
        {"idempotency_key": key("payout")},
    )
    with pytest.raises(stripe.InvalidRequestError, match="greater than the unreversed"):
        await sc.v1.transfers.reversals.create_async(
            transfer.id, {"amount": 701}, {"idempotency_key": key("reversal")}
        )
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.transfers.reversals.create_async(
            "tr_missing", {"amount": 1}, {"idempotency_key": key("reversal")}
        )
    assert caught.value.http_status == 404
    assert await fake_stripe.transfer_reversals() == []
