"""Merchant billing end to end: session.completed.v1 → the charge row and the command (outbox →
RabbitMQ) → the ``payments.billing.charge`` worker → the fake Stripe through the real SDK.

Issue 14 item 2 (§6c group C): one charge per billing event whatever the deliveries, retries
and replays (the fake's charge counter), declines as ``merchant.billing_failed.v1``, a merchant
without a payment method waiting visibly, the kill switch re-checked before the call.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from messaging.envelope import Envelope
from messaging.subscriber import Delivery
from payments import billing_handlers, billing_store, reward_handlers
from payments.contracts import SessionCompletedV1
from payments.deps import Hooks
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.payments_service import PaymentsClient, SettingsFactory, running, scalar
from tests.support.polling import eventually

ADMIN = uuid.uuid4()


def completed(merchant: uuid.UUID, amount: int = 250) -> SessionCompletedV1:
    return SessionCompletedV1(
        session_id=uuid.uuid4(),
        driver_id=uuid.uuid4(),
        merchant_id=merchant,
        billing_event_id=uuid.uuid4(),
        amount_minor=amount,
        currency="usd",
        reward_nova=0,
        confirmed_via="sms",
        completed_at=datetime.now(UTC),
    )


def delivery_of(event: SessionCompletedV1) -> Delivery[Any]:
    envelope = Envelope(
        message_id=uuid.uuid4(),
        type=event.message_type,
        occurred_at=datetime.now(UTC),
        producer="sessions",
        correlation_id="req-billing",
        causation_id=None,
        data=event.model_dump(mode="json"),
    )
    return Delivery(envelope, "payments.session_completed", 0, 0, {}, None)


async def session_completed(payments: PaymentsClient, event: SessionCompletedV1) -> None:
    await reward_handlers.on_session_completed(payments.deps, event, delivery_of(event))


async def set_billing(payments: PaymentsClient, merchant: uuid.UUID, pm: str) -> Any:
    return await payments.http.put(
        f"/v1/admin/merchants/{merchant}/billing",
        json={"payment_method_id": pm},
        headers=payments.headers(ADMIN, "admin"),
    )


async def charge_of(payments: PaymentsClient, event: SessionCompletedV1) -> dict[str, Any]:
    resp = await payments.http.get(
        f"/v1/admin/billing-charges/{event.billing_event_id}",
        headers=payments.headers(ADMIN, "admin"),
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def wait_status(payments: PaymentsClient, event: SessionCompletedV1, status: str) -> None:
    async def reached() -> None:
        assert (await charge_of(payments, event))["status"] == status

    await eventually(reached, timeout=20, what=f"the charge to be {status}")


async def intent_posts_for(fake_stripe: StripeControl, event: SessionCompletedV1) -> int:
    """The ``POST /v1/payment_intents`` the fake received for this billing event (its key):
    other tests' charges, retried meanwhile on the shared queue, are not counted."""
    requests = await fake_stripe.requests("payment_intents.create")
    key = f"billing:{event.billing_event_id}"
    return sum(1 for r in requests if r["idempotency_key"] == key)


async def charges_for(fake_stripe: StripeControl, event: SessionCompletedV1) -> list[Any]:
    return [
        c
        for c in await fake_stripe.charges()
        if c["metadata"].get("billing_event_id") == str(event.billing_event_id)
    ]


async def published(db: AsyncEngine, message_type: str, event: SessionCompletedV1) -> int:
    return int(
        await scalar(
            db,
            "SELECT count(*) FROM outbox WHERE message_type = :t"
            " AND convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'billing_event_id' = :b",
            t=message_type,
            b=str(event.billing_event_id),
        )
    )


async def test_admin_sets_the_payment_method_on_the_merchants_one_customer(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    merchant = await payments.add_merchant()
    first = await set_billing(payments, merchant, "pm_card_visa")
    assert first.status_code == 200, first.text
    second = await set_billing(payments, merchant, "pm_card_mastercard")
    assert second.status_code == 200, second.text
    assert first.json()["stripe_customer_id"] == second.json()["stripe_customer_id"]
    customers = await fake_stripe.customers()
    assert [c["metadata"]["merchant_id"] for c in customers] == [str(merchant)]
    assert (
        customers[0]["invoice_settings"]["default_payment_method"]
        == second.json()["default_payment_method_id"]
    )


async def test_billing_input_errors_are_problems_and_change_nothing(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    merchant = await payments.add_merchant()
    bad = await set_billing(payments, merchant, "not-a-pm")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"
    unknown = await set_billing(payments, uuid.uuid4(), "pm_card_visa")
    assert unknown.status_code == 404 and unknown.json()["code"] == "merchant_not_found"
    missing = await set_billing(payments, merchant, "pm_does_not_exist")
    assert missing.status_code == 422 and missing.json()["code"] == "payment_method_rejected"
    driver = await payments.http.put(
        f"/v1/admin/merchants/{merchant}/billing",
        json={"payment_method_id": "pm_card_visa"},
        headers=payments.headers(uuid.uuid4()),
    )
    assert driver.status_code == 403
    assert await fake_stripe.charges() == []


async def test_a_completed_session_is_charged_once_with_the_billing_key(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    merchant = await payments.add_merchant()
    assert (await set_billing(payments, merchant, "pm_card_visa")).status_code == 200
    event = completed(merchant)
    for _ in range(3):  # redeliveries under new message ids
        await session_completed(payments, event)
    await wait_status(payments, event, "succeeded")
    charges = await charges_for(fake_stripe, event)
    assert len(charges) == 1 and charges[0]["amount"] == 250
    assert await intent_posts_for(fake_stripe, event) == 1
    assert (await charge_of(payments, event))["stripe_payment_intent_id"] == charges[0]["id"]
    assert await published(db, "merchant.billed.v1", event) == 1
    assert await published(db, "payments.billing.charge.v1", event) == 1


@pytest.mark.parametrize(
    ("pm", "code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_authenticationRequired", "authentication_required"),
    ],
)
async def test_a_decline_is_a_definitive_billing_failure(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine, pm: str, code: str
) -> None:
    merchant = await payments.add_merchant()
    assert (await set_billing(payments, merchant, pm)).status_code == 200
    event = completed(merchant)
    await session_completed(payments, event)
    await wait_status(payments, event, "failed")
    charge = await charge_of(payments, event)
    assert charge["error_code"] == code
    assert await published(db, "merchant.billing_failed.v1", event) == 1
    assert await published(db, "merchant.billed.v1", event) == 0
    assert await charges_for(fake_stripe, event) == []


async def test_a_merchant_without_a_payment_method_waits_and_is_charged_once_one_is_set(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    merchant = await payments.add_merchant()
    event = completed(merchant)
    await session_completed(payments, event)
    await wait_status(payments, event, "awaiting_payment_method")
    assert await intent_posts_for(fake_stripe, event) == 0
    resp = await set_billing(payments, merchant, "pm_card_visa")
    assert resp.status_code == 200 and resp.json()["charges_requeued"] == 1
    await wait_status(payments, event, "succeeded")
    assert len(await charges_for(fake_stripe, event)) == 1
    assert await published(db, "merchant.billed.v1", event) == 1


async def test_a_lost_answer_is_retried_with_the_same_key_and_charges_once(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """Stripe charged, the answer never came back (timeout): the retry replays the key."""
    merchant = await payments.add_merchant()
    assert (await set_billing(payments, merchant, "pm_card_visa")).status_code == 200
    await fake_stripe.commit_then_timeout("payment_intents.create", seconds=10, times=1)
    event = completed(merchant)
    await session_completed(payments, event)
    await wait_status(payments, event, "succeeded")
    assert len(await charges_for(fake_stripe, event)) == 1
    assert await intent_posts_for(fake_stripe, event) >= 2
    assert await fake_stripe.idempotency_mismatches() == 0


async def dead_letters(payments: PaymentsClient, since: datetime) -> list[dict[str, Any]]:
    """This test's unresolved dead letters of the billing queue (the run shares a database)."""
    resp = await payments.http.get(
        "/v1/admin/dead-letters",
        params={
            "queue": "payments.billing.charge",
            "status": "unresolved",
            "since": since.isoformat(),
        },
        headers=payments.headers(ADMIN, "admin"),
    )
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def test_transient_failures_exhaust_into_the_dlq_and_the_replay_charges_once(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    merchant = await payments.add_merchant()
    assert (await set_billing(payments, merchant, "pm_card_visa")).status_code == 200
    # Stripe acts, then answers 500 every time: the first attempt charged.
    await fake_stripe.commit_then_timeout("payment_intents.create", seconds=10, times=3)
    event = completed(merchant)
    since = datetime.now(UTC)
    await session_completed(payments, event)

    async def dead() -> None:
        assert len(await dead_letters(payments, since)) == 1

    await eventually(dead, timeout=40, what="the charge command in the DLQ")
    assert (await charge_of(payments, event))["status"] == "pending"
    assert len(await charges_for(fake_stripe, event)) == 1
    [row] = await dead_letters(payments, since)
    replay = await payments.http.post(
        f"/v1/admin/dead-letters/{row['id']}/replay", headers=payments.headers(ADMIN, "admin")
    )
    assert replay.status_code == 200, replay.text
    await wait_status(payments, event, "succeeded")
    assert len(await charges_for(fake_stripe, event)) == 1
    assert await fake_stripe.idempotency_mismatches() == 0


async def test_the_kill_switch_is_rechecked_before_the_call_and_guards_the_replay(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    merchant = await payments.add_merchant()
    assert (await set_billing(payments, merchant, "pm_card_visa")).status_code == 200
    await payments.set_switch("BLOCK_ALL_MONEY_MOVEMENT", True, "incident")
    event = completed(merchant)
    since = datetime.now(UTC)
    await session_completed(payments, event)

    async def dead() -> None:
        assert len(await dead_letters(payments, since)) == 1

    await eventually(dead, timeout=40, what="the charge command in the DLQ")
    assert await intent_posts_for(fake_stripe, event) == 0
    [row] = await dead_letters(payments, since)
    refused = await payments.http.post(
        f"/v1/admin/dead-letters/{row['id']}/replay", headers=payments.headers(ADMIN, "admin")
    )
    assert refused.status_code == 503, (row, refused.text)
    assert refused.json()["code"] == "money_movement_disabled"
    await payments.set_switch("BLOCK_ALL_MONEY_MOVEMENT", False, "resolved")
    replay = await payments.http.post(
        f"/v1/admin/dead-letters/{row['id']}/replay", headers=payments.headers(ADMIN, "admin")
    )
    assert replay.status_code == 200, replay.text
    await wait_status(payments, event, "succeeded")
    assert len(await charges_for(fake_stripe, event)) == 1


class SettleBarrier(Hooks):
    """Holds both deliveries right before they store Stripe's answer, then lets them race."""

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def before_settle(self, kind: str) -> None:
        async with asyncio.timeout(10):
            await self.barrier.wait()


async def test_concurrent_deliveries_of_one_charge_settle_it_once(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """Two deliveries of the same command (a redelivery racing the first): Stripe answers both
    with the one PaymentIntent of the key; the row lock lets one of them settle and publish."""
    merchant = await payments.add_merchant()
    assert (await set_billing(payments, merchant, "pm_card_visa")).status_code == 200
    event = completed(merchant)
    async with payments.deps.uow() as tx:  # the row alone: no command, the test is the worker
        await billing_store.record_charge(
            tx,
            billing_event_id=event.billing_event_id,
            merchant_id=merchant,
            session_id=event.session_id,
            amount_minor=event.amount_minor,
            currency=event.currency,
        )
    payments.deps.hooks = SettleBarrier(2)
    await asyncio.gather(
        *(billing_handlers.execute_charge(payments.deps, event.billing_event_id) for _ in range(2))
    )
    assert (await charge_of(payments, event))["status"] == "succeeded"
    assert len(await charges_for(fake_stripe, event)) == 1
    assert await published(db, "merchant.billed.v1", event) == 1


async def test_charges_wait_unsent_while_stripe_is_silent_then_each_is_charged_once(
    payments_settings: SettingsFactory, signing_keys: TestSigningKeys, fake_stripe: StripeControl
) -> None:
    """One charge Stripe never answers opens the circuit: the next charge is held, not sent
    and not failed (nothing ambiguous, still ``pending``); the probe after the open time gets
    an answer, and each charge is made exactly once."""
    settings = payments_settings(stripe_circuit_failures=1, stripe_circuit_open_seconds=3.0)
    async with running(settings, signing_keys) as payments:
        merchant = await payments.add_merchant()
        assert (await set_billing(payments, merchant, "pm_card_visa")).status_code == 200
        silent, held = completed(merchant), completed(merchant)
        # held 4 s, past the client's 2 s: then Stripe executes it and frees its key. Only this
        # charge: another test's, retried meanwhile on the shared queue, would otherwise take
        # the one hang and leave this one answered at once
        only_silent = {"metadata[billing_event_id]": str(silent.billing_event_id)}
        await fake_stripe.hang("payment_intents.create", seconds=4, times=1, match=only_silent)
        await session_completed(payments, silent)

        async def circuit_open() -> None:
            metrics = (await payments.http.get("/metrics")).text
            assert "\nstripe_circuit_open 1.0" in metrics

        await eventually(circuit_open, timeout=10, what="the circuit to open")
        await session_completed(payments, held)
        await asyncio.sleep(1.0)  # its command is consumed meanwhile, and waits
        assert await intent_posts_for(fake_stripe, held) == 0
        assert (await charge_of(payments, held))["status"] == "pending"
        for event in (silent, held):
            await wait_status(payments, event, "succeeded")
            assert len(await charges_for(fake_stripe, event)) == 1
        assert await intent_posts_for(fake_stripe, held) == 1  # held, never refused and retried
        metrics = (await payments.http.get("/metrics")).text
        assert 'outcome="circuit_open"' not in metrics
