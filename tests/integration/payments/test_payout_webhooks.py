"""Drivers' payout accounts and the payout webhook handlers (§6c D 35, 39, C 19).

The handlers are called directly with the events the fake Stripe emitted (the shape Stripe
sends: id, type, created, livemode, account, data.object); the webhook inbox dispatches to
them in production. Each re-fetches the object, so duplicates and reordering converge."""

from __future__ import annotations

import uuid
from typing import Any

import stripe
from payments import payout_webhook_handlers as hooks
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.integration.payments.stripe_events_support import deliveries_to, wait_event
from tests.support.payments_service import PaymentsClient
from tests.support.payouts import (
    journals_of,
    post_payout,
    ready_driver,
    reconcile,
    unknown_payout,
    wait_payout,
)
from tests.support.polling import eventually


async def events_of(fake_stripe: StripeControl, type_: str, object_id: str) -> list[dict[str, Any]]:
    """The events of ``type_`` about ``object_id``, oldest first."""
    found = [
        e
        for e in await fake_stripe.events()
        if e["type"] == type_ and e["data"]["object"]["id"] == object_id
    ]
    return sorted(found, key=lambda e: e["created"])


async def onboard(payments: PaymentsClient, driver: uuid.UUID) -> dict[str, Any]:
    resp = await payments.http.post("/v1/payouts/account", headers=payments.headers(driver))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_onboarding_creates_one_account_and_account_updated_opens_payouts(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    driver = await payments.add_driver(500)
    first = await onboard(payments, driver)
    second = await onboard(payments, driver)
    assert first["stripe_account_id"] == second["stripe_account_id"]
    assert first["payouts_enabled"] is False and first["onboarding_url"]
    assert first["onboarding_url"] != second["onboarding_url"]  # a fresh link each time
    account = first["stripe_account_id"]
    assert [a["id"] for a in await fake_stripe.accounts()] == [account]
    refused = await post_payout(payments, driver, 100)
    assert refused.status_code == 409 and refused.json()["code"] == "payout_account_not_ready"

    await fake_stripe.visit_onboarding(second["onboarding_url"])  # the driver finishes
    [event] = await events_of(fake_stripe, "account.updated", account)
    assert event["account"] == account
    await hooks.on_account_updated(payments.deps, event)
    await hooks.on_account_updated(payments.deps, event)  # a duplicate changes nothing
    accepted = await post_payout(payments, driver, 100)
    assert accepted.status_code == 202, accepted.text
    await wait_payout(payments, accepted.json()["payout_id"], "succeeded")

    await fake_stripe.update_account(account, payouts_enabled=False)
    [_, disabled] = await events_of(fake_stripe, "account.updated", account)
    await hooks.on_account_updated(payments.deps, disabled)
    await hooks.on_account_updated(payments.deps, event)  # late, older: Stripe says disabled
    late = await post_payout(payments, driver, 100)
    assert late.status_code == 409 and late.json()["code"] == "payout_account_not_ready"


async def test_transfer_created_settles_an_unknown_payout_and_the_reconcile_is_a_no_op(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 35."""
    _, payout_id = await unknown_payout(payments, fake_stripe)
    await fake_stripe.clear_faults()
    transfer_id = (await fake_stripe.transfers())[-1]["id"]
    [created] = await events_of(fake_stripe, "transfer.created", transfer_id)
    await hooks.on_transfer_created(payments.deps, created)
    await hooks.on_transfer_created(payments.deps, created)
    payout = await wait_payout(payments, payout_id, "succeeded")
    assert payout["stripe_transfer_id"] == transfer_id
    resp = await reconcile(payments, payout_id)
    assert resp.json()["acted"] is False and resp.json()["status"] == "succeeded"
    assert await journals_of(db, payout_id) == ["payout_debit", "payout_settle"]


async def reverse(fake_stripe: StripeControl, transfer_id: str) -> None:
    http = stripe.AIOHTTPClient()
    try:
        await fake_stripe.client(http).v1.transfers.reversals.create_async(
            transfer_id, {}, {"idempotency_key": f"test-reversal-{transfer_id}"}
        )
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]


async def test_a_reversed_transfer_credits_the_driver_once_even_delivered_twice(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 39."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]
    payout = await wait_payout(payments, payout_id, "succeeded")
    await reverse(fake_stripe, payout["stripe_transfer_id"])
    [reversed_] = await events_of(fake_stripe, "transfer.reversed", payout["stripe_transfer_id"])
    await hooks.on_transfer_reversed(payments.deps, reversed_)
    await hooks.on_transfer_reversed(payments.deps, reversed_)
    await wait_payout(payments, payout_id, "reversed")
    assert await payments.balance(driver) == 1000
    assert await journals_of(db, payout_id) == [
        "payout_debit",
        "payout_settle",
        "payout_reversal",
    ]


async def test_reversed_before_created_ends_reversed_with_one_credit(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 19: the reversal's event arrives first; the late transfer.created changes nothing."""
    driver, payout_id = await unknown_payout(payments, fake_stripe)
    await fake_stripe.clear_faults()
    transfer_id = (await fake_stripe.transfers())[-1]["id"]
    await reverse(fake_stripe, transfer_id)
    [created] = await events_of(fake_stripe, "transfer.created", transfer_id)
    [reversed_] = await events_of(fake_stripe, "transfer.reversed", transfer_id)
    await hooks.on_transfer_reversed(payments.deps, reversed_)
    await hooks.on_transfer_created(payments.deps, created)
    await hooks.on_transfer_reversed(payments.deps, reversed_)
    payout = await wait_payout(payments, payout_id, "reversed")
    assert payout["stripe_transfer_id"] == transfer_id
    assert await payments.balance(driver) == 1000
    assert await journals_of(db, payout_id) == [
        "payout_debit",
        "payout_settle",
        "payout_reversal",
    ]


async def test_events_without_a_payout_are_ignored(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    event = {
        "id": "evt_1",
        "type": "transfer.created",
        "created": 1,
        "livemode": False,
        "data": {"object": {"id": "tr_none", "metadata": {}}},
    }
    await hooks.on_transfer_created(payments.deps, event)
    await hooks.on_account_updated(payments.deps, {"id": "evt_2", "data": {"object": {}}})
    # no Stripe call about them (other tests' payouts, retried meanwhile, may call Stripe)
    sent = await fake_stripe.requests()
    assert not [r for r in sent if r["path"].endswith("/tr_none") or "accounts" in r["path"]]


async def test_a_transfer_for_a_failed_payout_changes_nothing_and_raises_an_alert(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    driver, account = await ready_driver(payments, fake_stripe, nova=1000)
    await fake_stripe.set_balance(available=0, currency="usd")
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]
    await wait_payout(payments, payout_id, "failed")
    await fake_stripe.set_balance(available=10_000, currency="usd")
    http = stripe.AIOHTTPClient()
    try:
        rogue = await fake_stripe.client(http).v1.transfers.create_async(
            {
                "amount": 300,
                "currency": "usd",
                "destination": account,
                "transfer_group": f"payout_{payout_id}",
                "metadata": {"payout_id": payout_id},
            },
            {"idempotency_key": f"rogue-{payout_id}"},
        )
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]
    [created] = await events_of(fake_stripe, "transfer.created", rogue.id)
    alerts = payments.deps.payout_metrics.alerts.labels("transfer_for_failed_payout")
    raised = alerts._value.get()
    await hooks.on_transfer_created(payments.deps, created)
    assert alerts._value.get() == raised + 1
    assert (await wait_payout(payments, payout_id, "failed"))["stripe_transfer_id"] is None
    assert await journals_of(db, payout_id) == ["payout_debit", "payout_reversal"]


async def test_the_inbox_dispatches_account_updated_and_transfer_created_to_the_payout_handlers(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """Stripe's own deliveries, signed, through ``POST /v1/webhooks/stripe`` and the worker: the
    driver's account opens for payouts, and a payout left ``unknown`` is settled by the transfer
    Stripe reports, with no reconcile."""
    async with deliveries_to(payments, fake_stripe):
        driver = await payments.add_driver(500)
        account = await onboard(payments, driver)
        await fake_stripe.visit_onboarding(account["onboarding_url"])

        async def opened() -> None:
            accepted = await post_payout(payments, driver, 100)
            assert accepted.status_code == 202, accepted.text

        await eventually(opened, timeout=20, what="account.updated delivered and applied")

        await fake_stripe.configure(deliver_events=False)  # held back until the payout is unknown
        _, payout_id = await unknown_payout(payments, fake_stripe)
        await fake_stripe.clear_faults()
        transfer_id = (await fake_stripe.transfers())[-1]["id"]
        [created] = await events_of(fake_stripe, "transfer.created", transfer_id)
        await fake_stripe.send_webhook(event_id=created["id"])  # Stripe delivers it now
        await wait_event(db, created["id"], "processed")
        payout = await wait_payout(payments, payout_id, "succeeded")
        assert payout["stripe_transfer_id"] == transfer_id
