"""Hypothesis stateful suite for payouts over the real service, Postgres, RabbitMQ and the fake
Stripe (§6c J, Stripe part).

Random interleavings of grants, payout requests whose transfer Stripe makes, refuses, makes
but loses the answer of, or answers with a stored 500, reversals of made transfers, and
reconciliation past the key's window. After every step: the ledger invariants of the ledger
suite (journals net to zero, balance = Σ entries, wallets ≥ 0, versions contiguous, issued =
wallets + merchants + clearing + settled) and at most one Stripe transfer per payout; after a
reconcile pass past the window, no payout is left ``unknown``.

The machine runs in a worker thread (Hypothesis' stateful API is synchronous); each step runs
its coroutine on the test's event loop, where the app and the fakes live.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Coroutine
from typing import Any

import stripe
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from payments import payout_reconciler
from payments import payout_webhook_handlers as webhooks
from sqlalchemy import text

from tests.fakes.stripe.control import StripeControl
from tests.integration.payments.test_ledger_invariants import INVARIANTS_SQL
from tests.support.payments_service import PaymentsClient
from tests.support.payouts import admin_payout, post_payout, ready_driver
from tests.support.polling import eventually

OUTCOMES = ("ok", "refused", "answer_lost", "stored_500")


class PayoutMachine(RuleBasedStateMachine):
    client: PaymentsClient
    stripe: StripeControl
    loop: asyncio.AbstractEventLoop
    accepted = 0
    """Payouts accepted over every example (the test checks the machine really ran)."""

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    @initialize()
    def setup(self) -> None:
        self.drivers = [
            self.run(ready_driver(self.client, self.stripe, nova=300))[0] for _ in range(2)
        ]
        self.payouts: list[str] = []

    @rule(who=st.integers(0, 1), nova=st.integers(1, 300))
    def grant(self, who: int, nova: int) -> None:
        body = {"driver_id": str(self.drivers[who]), "nova": nova, "reason": "property"}
        assert self.run(self.client.grant(uuid.uuid4(), body)).status_code == 201

    @rule(who=st.integers(0, 1), nova=st.integers(1, 200), outcome=st.sampled_from(OUTCOMES))
    def request_payout(self, who: int, nova: int, outcome: str) -> None:
        self.run(self._request(self.drivers[who], nova, outcome))

    async def _request(self, driver: uuid.UUID, nova: int, outcome: str) -> None:
        fake = self.stripe
        await fake.clear_faults()
        await fake.set_balance(available=0 if outcome == "refused" else 10_000_000, currency="usd")
        if outcome == "answer_lost":
            await fake.commit_then_timeout("transfers.create", seconds=5, times=1)
        elif outcome == "stored_500":
            await fake.fail_next("transfers.create", status=500, times=1, cache=True)
        resp = await post_payout(self.client, driver, nova)
        if resp.status_code == 409:
            assert resp.json()["code"] in ("insufficient_funds", "payout_in_progress"), resp.text
            return
        assert resp.status_code == 202, resp.text
        payout_id = resp.json()["payout_id"]
        self.payouts.append(payout_id)
        PayoutMachine.accepted += 1

        async def left_pending() -> str:
            status: str = (await admin_payout(self.client, payout_id))["status"]
            assert status != "pending"
            return status

        await eventually(left_pending, timeout=30, what=f"payout {payout_id} to leave pending")
        await fake.clear_faults()

    @rule(data=st.data())
    def reverse_a_transfer(self, data: st.DataObject) -> None:
        if not self.payouts:
            return
        payout_id = data.draw(st.sampled_from(self.payouts))
        self.run(self._reverse(payout_id))

    async def _reverse(self, payout_id: str) -> None:
        payout = await admin_payout(self.client, payout_id)
        if payout["status"] != "succeeded":
            return
        transfer_id = payout["stripe_transfer_id"]
        http = stripe.AIOHTTPClient()
        try:
            await self.stripe.client(http).v1.transfers.reversals.create_async(
                transfer_id, {}, {"idempotency_key": f"prop-reversal-{transfer_id}"}
            )
        finally:
            await http.close_async()  # type: ignore[no-untyped-call]
        events = [
            e
            for e in await self.stripe.events()
            if e["type"] == "transfer.reversed" and e["data"]["object"]["id"] == transfer_id
        ]
        for event in events:
            await webhooks.on_transfer_reversed(self.client.deps, event)
        assert (await admin_payout(self.client, payout_id))["status"] == "reversed"

    @rule()
    def reconcile_past_the_window(self) -> None:
        self.run(self._reconcile_all())

    async def _reconcile_all(self) -> None:
        """Every open payout of this machine, 21 h after its first POST: decided by lookups."""
        async with self.client.deps.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE payments.payouts SET first_submitted_at = now() - interval '21 hours',"
                    " next_reconcile_at = now()"
                    " WHERE status IN ('pending', 'unknown') AND driver_id = ANY(:drivers)"
                ),
                {"drivers": self.drivers},
            )
        while await payout_reconciler.reconcile_due(self.client.deps, batch=50):
            pass
        async with self.client.deps.engine.connect() as conn:
            left = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM payments.payouts WHERE status = 'unknown'"
                        " AND driver_id = ANY(:drivers)"
                    ),
                    {"drivers": self.drivers},
                )
            ).scalar()
        assert left == 0, f"{left} payouts unknown past the reconcile horizon"

    @invariant()
    def money_is_conserved_and_transferred_once(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        async with self.client.deps.engine.connect() as conn:
            for name, sql in INVARIANTS_SQL.items():
                value = (await conn.execute(text(sql))).scalar()
                assert value == 0, f"{name}: {value}"
        per_payout = collections.Counter(
            t["metadata"].get("payout_id") for t in await self.stripe.transfers()
        )
        doubled = {p: n for p, n in per_payout.items() if p in self.payouts and n > 1}
        assert not doubled, f"payouts with more than one transfer: {doubled}"


async def test_payout_invariants_hold_under_random_interleavings(
    payments: PaymentsClient, fake_stripe: StripeControl
) -> None:
    PayoutMachine.client = payments
    PayoutMachine.stripe = fake_stripe
    PayoutMachine.loop = asyncio.get_running_loop()
    config = settings(
        max_examples=10,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    await asyncio.to_thread(run_state_machine_as_test, PayoutMachine, settings=config)
    assert PayoutMachine.accepted > 0
