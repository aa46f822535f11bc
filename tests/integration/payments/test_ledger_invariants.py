"""Hypothesis stateful suite over the real use cases and Postgres (§6c J, ledger part).

Random interleavings of grants, redemptions (fresh keys and replays of earlier keys) and
rewards (first deliveries and redeliveries) for a few drivers; after every step: each journal
nets to zero, balance = Σ entries per account, wallets ≥ 0, versions contiguous, and
issued = wallets + merchant accounts + clearing; and the wallet matches the model.
Bounded (few examples, short runs) so it fits in ``make test``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from payments import reward_handlers
from sqlalchemy import text

from tests.integration.payments.test_kill_switches_and_rewards import completed, delivery_of
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.payments_service import PaymentsClient, SettingsFactory, running

# Accounts touched by the raw-SQL guard tests (kind 'adjustment' by actor 'test', written
# around the ledger functions on purpose) are left out of the per-account sums; every journal
# still counts.
POSTED = (
    "a.id NOT IN (SELECT e.account_id FROM payments.ledger_entries e"
    " JOIN payments.ledger_transactions t ON t.id = e.transaction_id"
    " WHERE t.kind = 'adjustment' AND t.actor_id = 'test')"
)
INVARIANTS_SQL = {
    "unbalanced journals": "SELECT count(*) FROM (SELECT transaction_id"
    " FROM payments.ledger_entries GROUP BY transaction_id, asset HAVING sum(amount) <> 0) t",
    "balance != sum(entries)": "SELECT count(*) FROM payments.ledger_accounts a WHERE"
    f" {POSTED} AND a.balance <> (SELECT coalesce(sum(amount), 0)"
    " FROM payments.ledger_entries e WHERE e.account_id = a.id)",
    "negative wallets": "SELECT count(*) FROM payments.ledger_accounts"
    " WHERE NOT allow_negative AND balance < 0",
    "version gaps": f"SELECT count(*) FROM payments.ledger_accounts a WHERE {POSTED} AND"
    " (a.version <> (SELECT count(*) FROM payments.ledger_entries e WHERE e.account_id = a.id)"
    " OR a.version <> coalesce((SELECT max(account_version) FROM payments.ledger_entries e"
    " WHERE e.account_id = a.id), 0))",
    "issued != held": "SELECT (SELECT -coalesce(sum(balance), 0) FROM payments.ledger_accounts"
    "   WHERE owner_type = 'system' AND purpose IN ('rewards', 'grants'))"
    " - (SELECT coalesce(sum(balance), 0) FROM payments.ledger_accounts a"
    f"   WHERE {POSTED} AND (owner_type <> 'system'"
    "   OR purpose IN ('payout_clearing', 'payout_settled')))",
}


class LedgerMachine(RuleBasedStateMachine):
    client: PaymentsClient
    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[uuid.UUID, int] = {}
        self.keys: list[tuple[uuid.UUID, str, int]] = []
        self.sessions: list[tuple[uuid.UUID, Any]] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def setup(self) -> None:
        self.drivers = [self.run(self.client.add_driver()) for _ in range(3)]
        self.merchant = self.run(self.client.add_merchant())
        self.model = {d: 0 for d in self.drivers}

    @rule(who=st.integers(0, 2), nova=st.integers(1, 50))
    def grant(self, who: int, nova: int) -> None:
        driver = self.drivers[who]
        body = {"driver_id": str(driver), "nova": nova, "reason": "property"}
        resp = self.run(self.client.grant(uuid.uuid4(), body))
        assert resp.status_code == 201, resp.text
        self.model[driver] += nova

    @rule(who=st.integers(0, 2), nova=st.integers(1, 60))
    def redeem(self, who: int, nova: int) -> None:
        driver = self.drivers[who]
        key = f"prop-{uuid.uuid4().hex}"
        resp = self.run(self.client.redeem(driver, self.merchant, nova, key=key))
        if nova <= self.model[driver]:
            assert resp.status_code == 201, resp.text
            self.model[driver] -= nova
        else:
            assert resp.status_code == 409 and resp.json()["code"] == "insufficient_funds"
        self.keys.append((driver, key, nova))

    @rule(data=st.data())
    def replay_redeem(self, data: st.DataObject) -> None:
        if not self.keys:
            return
        driver, key, nova = data.draw(st.sampled_from(self.keys))
        resp = self.run(self.client.redeem(driver, self.merchant, nova, key=key))
        assert resp.headers.get("Idempotent-Replayed") == "true"

    @rule(who=st.integers(0, 2), nova=st.integers(1, 30))
    def reward(self, who: int, nova: int) -> None:
        driver = self.drivers[who]
        event = completed(driver, nova=nova)
        delivery = delivery_of(event)
        self.run(reward_handlers.on_session_completed(self.client.deps, event, delivery))
        self.sessions.append((driver, event))
        self.model[driver] += nova

    @rule(data=st.data())
    def redeliver_reward(self, data: st.DataObject) -> None:
        if not self.sessions:
            return
        _, event = data.draw(st.sampled_from(self.sessions))
        fresh_id = data.draw(st.booleans())
        self.run(
            reward_handlers.on_session_completed(
                self.client.deps, event, delivery_of(event, None if fresh_id else uuid.uuid4())
            )
        )

    @invariant()
    def ledger_holds(self) -> None:
        async def check() -> None:
            async with self.client.deps.engine.connect() as conn:
                for name, sql in INVARIANTS_SQL.items():
                    value = (
                        await conn.execute(text(sql.replace("FROM ledger", "FROM payments.ledger")))
                    ).scalar()
                    assert value == 0, f"{name}: {value}"

        self.run(check())
        for driver, expected in self.model.items():
            assert self.run(self.client.balance(driver)) == expected


def test_ledger_invariants_hold_under_random_interleavings(
    payments_settings: SettingsFactory,
) -> None:
    loop = asyncio.new_event_loop()
    keys = TestSigningKeys()
    manager = running(payments_settings(), keys)
    try:
        LedgerMachine.client = loop.run_until_complete(manager.__aenter__())
        LedgerMachine.loop = loop
        LedgerMachine.TestCase.settings = settings(
            max_examples=8,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        LedgerMachine.TestCase().runTest()
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()
