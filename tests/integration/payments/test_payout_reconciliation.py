"""Payouts whose outcome Stripe left open, and the reconciler that settles them (§6c group D
26, 27, 29-34, 36; the ops endpoint with the seed's fields).

The fake Stripe counts transfers and refuses a replayed key carrying other params
(``idempotency_mismatches``); ``transfers.create`` requests are the POSTs it received."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import stripe
from payments import payout_reconciler
from payments.deps import Hooks
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.payments_service import PaymentsClient, scalar
from tests.support.payouts import (
    StripeCallGate,
    admin_payout,
    journals_of,
    post_payout,
    published,
    ready_driver,
    reconcile,
    transfer_requests_for,
    transfers_of,
    unknown_payout,
    wait_payout,
)


async def posts(fake_stripe: StripeControl, payout_id: str) -> int:
    """The transfer POSTs the fake received for this payout (its key)."""
    sent = await fake_stripe.requests("transfers.create")
    return len([r for r in sent if r["idempotency_key"] == f"payout:{payout_id}"])


async def test_a_lost_answer_is_unknown_and_the_same_key_replay_settles_it_once(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 26: Stripe made the transfer, the answer was lost → unknown, never reversed; the
    reconcile replays the stored request with the same key → the same tr_, count 1."""
    driver, payout_id = await unknown_payout(payments, fake_stripe)
    assert await payments.balance(driver) == 700
    assert await journals_of(db, payout_id) == ["payout_debit"]
    assert await published(db, "payout.unknown.v1", payout_id) == 1
    [transfer] = await transfers_of(fake_stripe, payout_id)
    await fake_stripe.clear_faults()
    resp = await reconcile(payments, payout_id)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["payment_id"] == payout_id and body["status"] == "succeeded"
    assert body["stripe_transfer_id"] == transfer["id"] and body["stripe_status"] == "paid"
    assert body["reconciled_at"] is not None and body["no_transfer_confirmed"] is False
    assert body["acted"] is True
    assert len(await transfers_of(fake_stripe, payout_id)) == 1
    assert await fake_stripe.idempotency_mismatches() == 0
    assert await journals_of(db, payout_id) == ["payout_debit", "payout_settle"]
    again = await reconcile(payments, payout_id)  # settled: a no-op
    assert again.status_code == 200 and again.json()["acted"] is False
    assert again.json()["status"] == "succeeded"


async def test_a_connection_dropped_before_stripe_acted_is_replayed_into_one_transfer(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """§6c 27: the worker's retry replays the key; one transfer."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    await fake_stripe.disconnect_next("transfers.create", times=1)
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]
    payout = await wait_payout(payments, payout_id, "succeeded")
    assert payout["attempt_count"] >= 2
    assert len(await transfers_of(fake_stripe, payout_id)) == 1


async def test_a_cached_500_stays_unknown_and_no_second_transfer_is_made(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 29: the replay gets the stored 500 again; the lookup finds nothing inside the
    window, so the payout stays unknown (never reversed) and nothing is re-created."""
    driver, payout_id = await unknown_payout(payments, fake_stripe, cached_500=True)
    resp = await reconcile(payments, payout_id)
    assert resp.status_code == 200 and resp.json()["status"] == "unknown"
    assert await transfers_of(fake_stripe, payout_id) == []
    assert await journals_of(db, payout_id) == ["payout_debit"]
    assert await payments.balance(driver) == 700


async def test_past_the_replay_window_only_lookups_decide(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 33: 21 h after the first POST (and 25 h on Stripe's clock, which forgot the key)
    the reconciler never POSTs: the list finds the transfer → succeeded; for another payout
    the list finds none → failed with one reversal and no_transfer_confirmed."""
    _, found_id = await unknown_payout(payments, fake_stripe)
    await fake_stripe.clear_faults()
    other, missing_id = await unknown_payout(payments, fake_stripe, cached_500=True)
    await fake_stripe.clear_faults()
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE payouts SET first_submitted_at = now() - interval '21 hours'"
                " WHERE id IN (:a, :b)"
            ),
            {"a": found_id, "b": missing_id},
        )
    await fake_stripe.advance_clock(25 * 3600)
    before = await posts(fake_stripe, found_id) + await posts(fake_stripe, missing_id)
    found = (await reconcile(payments, found_id)).json()
    missing = (await reconcile(payments, missing_id)).json()
    assert await posts(fake_stripe, found_id) + await posts(fake_stripe, missing_id) == before
    assert await fake_stripe.calls("transfers.list") >= 2
    assert found["status"] == "succeeded" and found["stripe_transfer_id"]
    assert missing["status"] == "failed" and missing["no_transfer_confirmed"] is True
    assert missing["error_code"] == "no_transfer"
    assert await payments.balance(other) == 1000
    assert await journals_of(db, missing_id) == ["payout_debit", "payout_reversal"]


async def test_two_transfers_for_one_payout_freeze_it_and_raise_an_alert(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 34: the list shows two transfers carrying the payout's id → frozen, alert, no
    ledger change (the Nova stays in clearing for ops)."""
    driver, payout_id = await unknown_payout(payments, fake_stripe, cached_500=True)
    await fake_stripe.clear_faults()
    payout = await admin_payout(payments, payout_id)
    http = stripe.AIOHTTPClient()
    client = fake_stripe.client(http)
    try:
        for n in range(2):  # made by someone else under other keys
            await client.v1.transfers.create_async(
                {
                    "amount": 300,
                    "currency": "usd",
                    "destination": payout["destination_account"],
                    "transfer_group": f"payout_{payout_id}",
                    "metadata": {"payout_id": payout_id},
                },
                {"idempotency_key": f"rogue-{n}-{payout_id}"},
            )
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]
    async with db.begin() as conn:  # lookups only (a replay would return the cached 500)
        await conn.execute(
            text(
                "UPDATE payouts SET first_submitted_at = now() - interval '21 hours' WHERE id = :id"
            ),
            {"id": payout_id},
        )
    alerts = payments.deps.payout_metrics.alerts.labels("duplicate_transfers")
    raised = alerts._value.get()
    resp = await reconcile(payments, payout_id)
    assert resp.json()["status"] == "frozen"
    assert alerts._value.get() == raised + 1
    assert await journals_of(db, payout_id) == ["payout_debit"]
    assert await payments.balance(driver) == 700
    second = await post_payout(payments, driver, 10)
    assert second.status_code == 409 and second.json()["code"] == "payout_in_progress"


class GateAt(Hooks):
    """Holds the first caller at ``before_settle`` (a worker that dies after Stripe acted)."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self.held = 1

    async def before_settle(self, kind: str) -> None:
        if self.held:
            self.held -= 1
            self.reached.set()
            async with asyncio.timeout(120):
                await self.release.wait()


async def test_a_worker_stopped_between_phase_1_and_2_leaves_a_pending_payout_settled_once(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """§6c 30: the worker stops before the call; the reconciler replays; the resumed worker's
    replay gets the same transfer back. One transfer."""
    gate = StripeCallGate(held=1)
    payments.deps.hooks = gate
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]
    async with asyncio.timeout(30):
        await gate.reached.wait()
    resp = await reconcile(payments, payout_id)
    assert resp.json()["status"] == "succeeded"
    gate.open()
    await asyncio.sleep(1)  # let the resumed worker replay (its answer changes nothing)
    assert len(await transfers_of(fake_stripe, payout_id)) == 1
    assert (await admin_payout(payments, payout_id))["status"] == "succeeded"


async def test_a_worker_stopped_between_phase_2_and_3_is_settled_by_the_reconciler(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """§6c 31: Stripe has the transfer, the database says pending → succeeded, one transfer."""
    gate = GateAt()
    payments.deps.hooks = gate
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]
    async with asyncio.timeout(30):
        await gate.reached.wait()
    assert (await admin_payout(payments, payout_id))["status"] == "pending"
    resp = await reconcile(payments, payout_id)
    assert resp.json()["status"] == "succeeded"
    gate.release.set()
    [transfer] = await transfers_of(fake_stripe, payout_id)
    assert resp.json()["stripe_transfer_id"] == transfer["id"]


async def test_every_attempt_sends_the_same_key_and_params_whatever_the_rate_now(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    """§6c 32: worker retries and the reconcile replay re-send the stored request byte for
    byte; a rate changed since phase 1 does not reach them."""
    _, payout_id = await unknown_payout(payments, fake_stripe)
    settings = payments.deps.settings
    payments.deps.settings = settings.model_copy(
        update={"payout_minor_units_per_nova": Decimal("2")}
    )
    await fake_stripe.clear_faults()
    resp = await reconcile(payments, payout_id)
    assert resp.json()["status"] == "succeeded"
    sent = await transfer_requests_for(fake_stripe, payout_id)
    assert len(sent) >= 2
    assert {r["idempotency_key"] for r in sent} == {f"payout:{payout_id}"}
    assert len({repr(r["params"]) for r in sent}) == 1
    assert await fake_stripe.idempotency_mismatches() == 0
    assert len(await transfers_of(fake_stripe, payout_id)) == 1


class LeaseBarrier(Hooks):
    """Every reconciler waits here after trying to lease, so they all tried before any acts."""

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def after_lease(self, leased: int) -> None:
        async with asyncio.timeout(60):
            await self.barrier.wait()


async def test_concurrent_reconcilers_let_one_actor_settle_a_payout(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    """§6c 36: two reconciler passes and the ops endpoint at once (barrier after the lease):
    one POST, one transition to succeeded."""
    _, payout_id = await unknown_payout(payments, fake_stripe)
    await fake_stripe.clear_faults()
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE payouts SET next_reconcile_at = now() WHERE id = :id"), {"id": payout_id}
        )
    before = await posts(fake_stripe, payout_id)
    payments.deps.hooks = LeaseBarrier(3)
    results: list[Any] = await asyncio.gather(
        payout_reconciler.reconcile_due(payments.deps, batch=50),
        payout_reconciler.reconcile_due(payments.deps, batch=50),
        reconcile(payments, payout_id),
        return_exceptions=True,
    )
    assert await posts(fake_stripe, payout_id) == before + 1, results
    transitions = (await admin_payout(payments, payout_id))["transitions"]
    assert [t["to_status"] for t in transitions] == ["pending", "unknown", "succeeded"]
    assert (
        await scalar(
            db, "SELECT count(*) FROM payout_transitions WHERE payout_id = :id", id=payout_id
        )
        == 3
    )


async def test_the_periodic_pass_settles_what_is_due_and_backs_off_the_rest(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    _, payout_id = await unknown_payout(payments, fake_stripe, cached_500=True)
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE payouts SET next_reconcile_at = now() WHERE id = :id"), {"id": payout_id}
        )
    assert await payout_reconciler.reconcile_due(payments.deps, batch=50) >= 1
    payout = await admin_payout(payments, payout_id)
    assert payout["status"] == "unknown"  # still ambiguous: retried later
    assert await scalar(
        db,
        "SELECT next_reconcile_at > now() + interval '30 seconds' FROM payouts WHERE id = :id",
        id=payout_id,
    )
    await fake_stripe.clear_faults()
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE payouts SET next_reconcile_at = now() WHERE id = :id"), {"id": payout_id}
        )
    # the cached 500 is stored under the key: only the window's end lets a lookup decide
    assert await payout_reconciler.reconcile_due(payments.deps, batch=50) >= 1
    assert (await admin_payout(payments, payout_id))["status"] == "unknown"
