"""Driver payouts, phases 1-3 end to end: ``POST /v1/payouts`` (one transaction, 202 at once)
→ the ``payments.payouts.execute`` command through RabbitMQ → the worker → the fake Stripe
through the real SDK (§6c group D 25, 27, 28, 32, 37, 38, 40; the seed's retry rules)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from payments.deps import Hooks
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.payments_service import (
    PaymentsClient,
    SettingsFactory,
    new_key,
    running,
    scalar,
)
from tests.support.payouts import (
    admin_payout,
    journals_of,
    post_payout,
    published,
    ready_driver,
    transfer_posts_for,
    transfers_of,
    wait_payout,
)
from tests.support.polling import eventually


async def test_a_payout_is_accepted_at_once_and_transferred_once(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    driver, account = await ready_driver(payments, fake_stripe, nova=1000)
    resp = await post_payout(payments, driver, 400)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["status"] == "pending" and body["amount_minor"] == 400
    payout_id = body["payout_id"]
    assert await payments.balance(driver) == 600
    payout = await wait_payout(payments, payout_id, "succeeded")
    [transfer] = await transfers_of(fake_stripe, payout_id)
    assert payout["stripe_transfer_id"] == transfer["id"]
    assert transfer["amount"] == 400 and transfer["destination"] == account
    assert transfer["transfer_group"] == f"payout_{payout_id}"
    assert await transfer_posts_for(fake_stripe, payout_id) == 1
    assert await journals_of(db, payout_id) == ["payout_debit", "payout_settle"]
    assert await payments.balance(driver) == 600
    assert [t["to_status"] for t in payout["transitions"]] == ["pending", "succeeded"]
    assert await published(db, "payout.succeeded.v1", payout_id) == 1
    assert await published(db, "payments.payouts.execute.v1", payout_id) == 1


@pytest.mark.parametrize("nova", [0, -5, 1.5, "10", True, 10**16])
async def test_bad_amounts_are_refused_and_change_nothing(
    payments: PaymentsClient, fake_stripe: StripeControl, nova: object
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=100)
    resp = await post_payout(payments, driver, nova)
    assert resp.status_code == 400 and resp.json()["code"] == "validation_failed"
    assert await payments.balance(driver) == 100


async def test_a_key_is_required_and_the_account_must_be_ready(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=100)
    no_key = await payments.http.post(
        "/v1/payouts", json={"nova": 10}, headers=payments.headers(driver)
    )
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    stranger = await payments.add_driver(100)
    key = new_key()
    refused = await post_payout(payments, stranger, 10, key=key)
    assert refused.status_code == 409 and refused.json()["code"] == "payout_account_not_ready"
    assert await payments.balance(stranger) == 100
    for owner in (driver, stranger):
        assert await scalar(db, "SELECT count(*) FROM payouts WHERE driver_id = :d", d=owner) == 0


async def test_insufficient_funds_is_stored_on_the_key(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=50)
    key = new_key()
    first = await post_payout(payments, driver, 60, key=key)
    assert first.status_code == 409 and first.json()["code"] == "insufficient_funds"
    again = await post_payout(payments, driver, 60, key=key)
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert await payments.balance(driver) == 50


async def test_an_amount_worth_less_than_a_cent_is_refused(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=50)
    settings = payments.deps.settings
    payments.deps.settings = settings.model_copy(
        update={"payout_minor_units_per_nova": Decimal("0.01")}
    )
    try:
        resp = await post_payout(payments, driver, 50)
    finally:
        payments.deps.settings = settings
    assert resp.status_code == 422 and resp.json()["code"] == "payout_amount_too_small"
    assert await payments.balance(driver) == 50


async def test_a_definitive_refusal_fails_the_payout_with_one_reversal(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=500)
    await fake_stripe.set_balance(available=0, currency="usd")
    resp = await post_payout(payments, driver, 300)
    payout_id = resp.json()["payout_id"]
    payout = await wait_payout(payments, payout_id, "failed")
    assert payout["error_code"] == "balance_insufficient"
    assert payout["no_transfer_confirmed"] is True
    assert await payments.balance(driver) == 500
    assert await journals_of(db, payout_id) == ["payout_debit", "payout_reversal"]
    assert await published(db, "payout.failed.v1", payout_id) == 1
    assert await transfers_of(fake_stripe, payout_id) == []


async def test_a_repeated_request_follows_the_payout_state(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """The seed's rules: succeeded → 200 replay; failed (no transfer) → one new payout."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=500)
    key = new_key()
    await fake_stripe.set_balance(available=0, currency="usd")
    first = await post_payout(payments, driver, 200, key=key)
    failed_id = first.json()["payout_id"]
    await wait_payout(payments, failed_id, "failed")
    await fake_stripe.set_balance(available=10_000, currency="usd")
    retried = await asyncio.gather(*(post_payout(payments, driver, 200, key=key) for _ in range(3)))
    assert {r.status_code for r in retried} == {202}
    new_ids = {r.json()["payout_id"] for r in retried}
    assert len(new_ids) == 1 and failed_id not in new_ids
    [new_id] = new_ids
    new = await wait_payout(payments, new_id, "succeeded")
    assert new["retry_of"] == failed_id
    replay = await post_payout(payments, driver, 200, key=key)
    assert replay.status_code == 200 and replay.json()["payout_id"] == new_id
    assert replay.json()["status"] == "succeeded"
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await payments.balance(driver) == 300
    assert len(await transfers_of(fake_stripe, new_id)) == 1


async def test_a_repeat_while_pending_is_202_without_a_new_debit_and_a_second_payout_is_409(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=500)
    await fake_stripe.hang("transfers.create", seconds=30)
    key = new_key()
    first = await post_payout(payments, driver, 100, key=key)
    assert first.status_code == 202
    again = await post_payout(payments, driver, 100, key=key)
    assert again.status_code == 202 and again.json()["payout_id"] == first.json()["payout_id"]
    other = await post_payout(payments, driver, 50)
    assert other.status_code == 409 and other.json()["code"] == "payout_in_progress"
    assert await payments.balance(driver) == 400


async def test_the_request_path_never_waits_for_a_hanging_stripe(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """§6c 40: with every Stripe call hanging, requests are answered while the worker's call
    is still outstanding (the figures are in bench/payments)."""
    await fake_stripe.hang("*", seconds=30)
    driver, _ = await ready_driver(payments, fake_stripe, nova=500)
    first = await post_payout(payments, driver, 100)
    assert first.status_code == 202

    async def worker_waits_on_stripe() -> bool:
        return await fake_stripe.in_flight() >= 1

    await eventually(worker_waits_on_stripe, timeout=20, what="the worker's call to hang")
    other, _ = await ready_driver(payments, fake_stripe, nova=500)
    second = await post_payout(payments, other, 100)
    assert second.status_code == 202
    assert await fake_stripe.in_flight() >= 1
    assert (await admin_payout(payments, first.json()["payout_id"]))["status"] == "pending"


async def test_the_database_enforces_the_state_machine(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 37: illegal transitions, succeeded without a transfer id, history edits."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=500)
    payout_id = (await post_payout(payments, driver, 100)).json()["payout_id"]
    await wait_payout(payments, payout_id, "succeeded")
    for statement in (
        "UPDATE payouts SET status = 'pending' WHERE id = :id",
        "UPDATE payouts SET status = 'failed' WHERE id = :id",
        "UPDATE payouts SET stripe_request = '{}'::jsonb WHERE id = :id",
        "UPDATE payout_transitions SET reason = 'x' WHERE payout_id = :id",
        "DELETE FROM payout_transitions WHERE payout_id = :id",
    ):
        with pytest.raises(DBAPIError):
            async with db.begin() as conn:
                await conn.execute(text(statement), {"id": payout_id})
    other, _ = await ready_driver(payments, fake_stripe, nova=500)
    await fake_stripe.hang("transfers.create", seconds=30)
    pending_id = (await post_payout(payments, other, 100)).json()["payout_id"]
    with pytest.raises(DBAPIError):
        async with db.begin() as conn:
            await conn.execute(
                text("UPDATE payouts SET status = 'succeeded' WHERE id = :id"), {"id": pending_id}
            )
    assert (await admin_payout(payments, payout_id))["status"] == "succeeded"
    assert uuid.UUID(pending_id)


class ClaimBarrier(Hooks):
    """Both requests claimed their keys before either opens its transaction."""

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def after_claim(self, scope: str) -> None:
        async with asyncio.timeout(60):
            await self.barrier.wait()


async def test_two_concurrent_payouts_of_one_driver_open_one(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 38 with a barrier: two requests under different keys, both past their key claim
    at once → one 202, one 409 payout_in_progress, one debit."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    await fake_stripe.hang("transfers.create", seconds=30)
    payments.deps.hooks = ClaimBarrier(2)
    first, second = await asyncio.gather(
        post_payout(payments, driver, 300), post_payout(payments, driver, 400)
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409], (first, second)
    refused = first if first.status_code == 409 else second
    assert refused.json()["code"] == "payout_in_progress"
    assert await payments.balance(driver) in (700, 600)
    opened = await scalar(db, "SELECT count(*) FROM payouts WHERE driver_id = :d", d=driver)
    assert opened == 1


async def test_a_driver_follows_their_own_payout_and_no_one_else_s(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=500)
    accepted = await post_payout(payments, driver, 200)
    payout_id = accepted.json()["payout_id"]
    await wait_payout(payments, payout_id, "succeeded")
    seen = await payments.http.get(f"/v1/payouts/{payout_id}", headers=payments.headers(driver))
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "succeeded" and seen.json()["nova"] == 200
    assert seen.json()["stripe_transfer_id"]
    other = await payments.add_driver(0)
    hidden = await payments.http.get(f"/v1/payouts/{payout_id}", headers=payments.headers(other))
    assert hidden.status_code == 404 and hidden.json()["code"] == "payout_not_found"
    missing = await payments.http.get(
        f"/v1/payouts/{uuid.uuid4()}", headers=payments.headers(driver)
    )
    assert missing.status_code == 404


async def test_a_payout_waits_pending_while_stripe_is_silent_and_is_transferred_once(
    payments_settings: SettingsFactory, signing_keys: TestSigningKeys, fake_stripe: StripeControl
) -> None:
    """A transfer Stripe never answers opens the circuit (that payout is ``unknown``); the next
    payout's worker holds it unsent, still ``pending`` (never ``unknown``: nothing was sent),
    until the probe gets an answer; each payout then has exactly one transfer."""
    settings = payments_settings(stripe_circuit_failures=1, stripe_circuit_open_seconds=3.0)
    async with running(settings, signing_keys) as payments:
        first_driver, first_account = await ready_driver(payments, fake_stripe, nova=500)
        second_driver, _ = await ready_driver(payments, fake_stripe, nova=500)
        # held 4 s, past the client's 2 s: then Stripe executes it and frees its key. Only this
        # driver's transfer: another test's payout, retried meanwhile on the shared queue,
        # would otherwise take the one hang and leave this one answered at once
        only_first = {"destination": first_account}
        await fake_stripe.hang("transfers.create", seconds=4, times=1, match=only_first)
        silent = (await post_payout(payments, first_driver, 100)).json()["payout_id"]
        await wait_payout(payments, silent, "unknown")
        held = (await post_payout(payments, second_driver, 100)).json()["payout_id"]
        await asyncio.sleep(1.0)  # its command is consumed meanwhile, and waits
        assert await transfer_posts_for(fake_stripe, held) == 0
        assert (await admin_payout(payments, held))["status"] == "pending"
        for payout_id in (silent, held):
            await wait_payout(payments, payout_id, "succeeded")
            assert len(await transfers_of(fake_stripe, payout_id)) == 1
        assert await transfer_posts_for(fake_stripe, held) == 1
        assert 'outcome="circuit_open"' not in (await payments.http.get("/metrics")).text
