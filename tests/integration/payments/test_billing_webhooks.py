"""``payment_intent.succeeded`` / ``payment_failed`` settle the charges the billing worker could
not confirm (it lost Stripe's answer): the webhook's handler re-fetches the PaymentIntent and
settles once; ``merchant.billed.v1`` / ``merchant.billing_failed.v1`` exactly once, whatever
the worker's retries, a second event or a failed re-fetch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from payments.deps import Hooks
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.integration.payments.stripe_events_support import deliveries_to, wait_event
from tests.integration.payments.test_billing import (
    charge_of,
    charges_for,
    completed,
    published,
    session_completed,
    set_billing,
    wait_status,
)
from tests.support.payments_service import PaymentsClient
from tests.support.polling import eventually


class WorkerLosesAnswers(Hooks):
    """The billing worker never stores Stripe's answer (as if it crashed right after the
    call, every time); the webhook's path ("billing.webhook") is left alone."""

    async def before_settle(self, kind: str) -> None:
        if kind == "billing":
            raise RuntimeError("the worker lost Stripe's answer")


@pytest.fixture
async def url(payments: PaymentsClient, fake_stripe: StripeControl) -> AsyncIterator[str]:
    async with deliveries_to(payments, fake_stripe) as served:
        yield served


async def intent_events(db: AsyncEngine, intent_id: str, type: str) -> list[Any]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_id, status, attempts, last_error FROM stripe_events"
                " WHERE event_type = :type AND payload -> 'data' -> 'object' ->> 'id' = :pi"
            ),
            {"type": type, "pi": intent_id},
        )
        return list(rows)


async def settled_by_webhook(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine, pm: str, status: str
) -> tuple[Any, dict[str, Any], str]:
    merchant = await payments.add_merchant()
    assert (await set_billing(payments, merchant, pm)).status_code == 200
    payments.deps.hooks = WorkerLosesAnswers()
    event = completed(merchant)
    await session_completed(payments, event)
    await wait_status(payments, event, status)
    charge = await charge_of(payments, event)
    return event, charge, str(charge["stripe_payment_intent_id"])


async def retrieves_of(fake_stripe: StripeControl, intent_id: str) -> int:
    """The re-fetches of one PaymentIntent (another test's, retried meanwhile, not counted)."""
    sent = await fake_stripe.requests("payment_intents.retrieve")
    return sum(1 for r in sent if r["path"].endswith(f"/{intent_id}"))


async def test_payment_intent_succeeded_settles_the_unconfirmed_charge_once(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine, url: str
) -> None:
    event, charge, intent_id = await settled_by_webhook(
        payments, fake_stripe, db, "pm_card_visa", "succeeded"
    )
    [row] = await intent_events(db, intent_id, "payment_intent.succeeded")
    await wait_event(db, row.event_id, "processed")
    assert charge["attempts"] == 0  # no worker attempt ever stored an outcome
    # The same event again, and a second event about the same intent: no-ops.
    await fake_stripe.send_webhook(event_id=row.event_id)
    [intent] = [i for i in await fake_stripe.payment_intents() if i["id"] == intent_id]
    extra = await fake_stripe.send_webhook("payment_intent.succeeded", intent)
    await wait_event(db, extra["event"]["id"], "processed")
    assert await published(db, "merchant.billed.v1", event) == 1
    assert await published(db, "merchant.billing_failed.v1", event) == 0
    assert len(await charges_for(fake_stripe, event)) == 1
    assert await fake_stripe.calls("payment_intents.create") >= 1
    assert await fake_stripe.idempotency_mismatches() == 0


async def test_payment_intent_payment_failed_settles_a_decline_once(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine, url: str
) -> None:
    event, charge, intent_id = await settled_by_webhook(
        payments, fake_stripe, db, "pm_card_chargeDeclined", "failed"
    )
    [row] = await intent_events(db, intent_id, "payment_intent.payment_failed")
    await wait_event(db, row.event_id, "processed")
    assert charge["error_code"]
    assert await published(db, "merchant.billing_failed.v1", event) == 1
    assert await published(db, "merchant.billed.v1", event) == 0
    assert await charges_for(fake_stripe, event) == []


async def test_a_failed_re_fetch_marks_the_event_failed_and_the_retry_settles_it(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine, url: str
) -> None:
    # Three reads: the handler's brief in-process retries of one attempt, all refused.
    await fake_stripe.fail_next("payment_intents.retrieve", status=500, times=3)
    event, _, intent_id = await settled_by_webhook(
        payments, fake_stripe, db, "pm_card_visa", "succeeded"
    )
    [row] = await intent_events(db, intent_id, "payment_intent.succeeded")
    done = await wait_event(db, row.event_id, "processed")
    assert done.attempts == 2 and "Stripe" in done.last_error
    assert await retrieves_of(fake_stripe, intent_id) == 4
    assert await published(db, "merchant.billed.v1", event) == 1


async def test_a_payment_intent_of_no_charge_of_ours_is_ignored(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine, url: str
) -> None:
    unknown = str(uuid.uuid4())
    sent = await fake_stripe.send_webhook(
        "payment_intent.succeeded",
        {
            "id": "pi_1Unknown",
            "object": "payment_intent",
            "metadata": {"billing_event_id": unknown},
        },
    )
    row = await wait_event(db, sent["event"]["id"], "ignored")
    assert row.last_error == "no billing charge for this PaymentIntent"

    async def no_retrieve() -> bool:
        return await retrieves_of(fake_stripe, "pi_1Unknown") == 0

    assert await eventually(no_retrieve, what="no re-fetch for a PaymentIntent not ours")
