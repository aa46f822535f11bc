"""Payouts under kill switches and through the DLQ (§6c E 41-42, F 46 and 48).

A switch flipped between phase 1 and phase 2 holds the payout (pending, Nova visible in
clearing), never fails it; the worker, the dead-letter replay and the reconciler send no POST
while it is off (lookups are allowed), and the payout resumes when it reopens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.payments_service import PaymentsClient, new_key
from tests.support.payouts import (
    ADMIN,
    StripeCallGate,
    admin_payout,
    dead_letters_of,
    journals_of,
    post_payout,
    ready_driver,
    reconcile,
    transfer_posts_for,
    transfers_of,
    wait_payout,
)
from tests.support.polling import eventually

QUEUE = "payments.payouts.execute"


async def unresolved(payments: PaymentsClient, since: datetime) -> list[dict[str, Any]]:
    resp = await payments.http.get(
        "/v1/admin/dead-letters",
        params={"queue": QUEUE, "status": "unresolved", "since": since.isoformat()},
        headers=payments.headers(ADMIN, "admin"),
    )
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def replay(payments: PaymentsClient, row_id: int) -> Any:
    return await payments.http.post(
        f"/v1/admin/dead-letters/{row_id}/replay", headers=payments.headers(ADMIN, "admin")
    )


async def test_a_switch_flipped_between_the_phases_holds_the_payout_until_it_reopens(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 48 (barrier) and 46: the worker is held after phase 1, PAYOUTS_ENABLED goes off,
    the worker resumes: no POST, the payout stays pending with its Nova in clearing, the
    command reaches the DLQ; the replay and the reconciler refuse to POST; once the switch
    reopens the replay transfers exactly once."""
    gate = StripeCallGate(held=1)
    payments.deps.hooks = gate
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    since = datetime.now(UTC)
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]
    async with asyncio.timeout(30):
        await gate.reached.wait()  # phase 1 committed; the worker stands before phase 2
    assert (await payments.set_switch("PAYOUTS_ENABLED", False, "bank incident")).status_code == 200
    gate.open()

    async def dead() -> list[dict[str, Any]]:
        rows = await unresolved(payments, since)
        assert len(rows) == 1, rows
        return rows

    [row] = await eventually(dead, timeout=40, what="the held command in the DLQ")
    assert await transfer_posts_for(fake_stripe, payout_id) == 0
    assert (await admin_payout(payments, payout_id))["status"] == "pending"
    assert await journals_of(db, payout_id) == ["payout_debit"]
    assert await payments.balance(driver) == 700

    refused = await replay(payments, row["id"])
    assert refused.status_code == 503 and refused.json()["code"] == "money_movement_disabled"
    held = await reconcile(payments, payout_id)
    assert held.status_code == 200 and held.json()["status"] == "pending"
    assert await transfer_posts_for(fake_stripe, payout_id) == 0
    assert await fake_stripe.calls("transfers.list") >= 1  # a lookup is allowed

    await payments.set_switch("PAYOUTS_ENABLED", True, "resolved")
    assert (await replay(payments, row["id"])).status_code == 200
    await wait_payout(payments, payout_id, "succeeded")
    assert len(await transfers_of(fake_stripe, payout_id)) == 1
    assert await transfer_posts_for(fake_stripe, payout_id) >= 1  # the count sees this payout's


async def test_a_blocked_request_keeps_its_key_and_redeems_still_work(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """§6c 46: PAYOUTS_ENABLED off → 503 with nothing debited and the key not consumed;
    redemptions are another switch's business."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    merchant = await payments.add_merchant()
    await payments.set_switch("PAYOUTS_ENABLED", False, "maintenance")
    key = new_key()
    blocked = await post_payout(payments, driver, 100, key=key)
    assert blocked.status_code == 503 and blocked.json()["code"] == "money_movement_disabled"
    assert (await payments.redeem(driver, merchant, 50)).status_code == 201
    assert await payments.balance(driver) == 950
    await payments.set_switch("PAYOUTS_ENABLED", True, "done")
    accepted = await post_payout(payments, driver, 100, key=key)
    assert accepted.status_code == 202
    await wait_payout(payments, accepted.json()["payout_id"], "succeeded")
    assert await payments.balance(driver) == 850


async def test_a_failed_call_leaves_one_dead_letter_whose_replay_transfers_once(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """§6c 41-42: Stripe acted and every answer was lost → unknown, one dead letter; its
    replay re-sends the stored request with the same key → one transfer; replaying the
    resolved letter again does nothing."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    await fake_stripe.commit_then_timeout("transfers.create", seconds=10, times=3)
    since = datetime.now(UTC)
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]

    async def dead() -> list[dict[str, Any]]:
        rows = await dead_letters_of(payments, payout_id, since)
        assert len(rows) == 1, rows
        return rows

    [row] = await eventually(dead, timeout=40, what="the command in the DLQ")
    assert (await admin_payout(payments, payout_id))["status"] == "unknown"
    assert len(await transfers_of(fake_stripe, payout_id)) == 1
    await fake_stripe.clear_faults()
    assert (await replay(payments, row["id"])).status_code == 200
    await wait_payout(payments, payout_id, "succeeded")
    again = await replay(payments, row["id"])
    assert again.status_code == 200 and again.json()["replayed"] == 0
    assert len(await transfers_of(fake_stripe, payout_id)) == 1
    assert await fake_stripe.idempotency_mismatches() == 0
    assert await payments.balance(driver) == 700
