"""§6c A3: a redemption and a payout on the same wallet, meeting at a barrier right before each
posts its journal: never an overdraft; when both do not fit, exactly one succeeds."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from payments.deps import Hooks
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.payments_service import BarrierHooks, PaymentsClient, scalar, wallet_state
from tests.support.payouts import post_payout, ready_driver


async def race(
    payments: PaymentsClient, driver: uuid.UUID, merchant: uuid.UUID, *, redeem: int, payout: int
) -> tuple[httpx.Response, httpx.Response]:
    payments.deps.hooks = BarrierHooks(2)
    try:
        redeemed, paid = await asyncio.gather(
            payments.redeem(driver, merchant, redeem), post_payout(payments, driver, payout)
        )
    finally:
        payments.deps.hooks = Hooks()
    return redeemed, paid


async def journals(db: AsyncEngine, driver: uuid.UUID, kind: str) -> int:
    sql = "SELECT count(*) FROM ledger_transactions WHERE kind = :k AND actor_id = :d"
    return int(await scalar(db, sql, k=kind, d=str(driver)))


async def test_when_both_do_not_fit_exactly_one_wins_and_nothing_overdraws(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=100)
    merchant = await payments.add_merchant()
    redeemed, paid = await race(payments, driver, merchant, redeem=60, payout=60)
    outcomes = sorted([redeemed.status_code, paid.status_code])
    assert outcomes in ([201, 409], [202, 409]), (redeemed.text, paid.text)
    loser = redeemed if redeemed.status_code == 409 else paid
    assert loser.json()["code"] == "insufficient_funds"
    balance, total, version, versions = await wallet_state(db, driver)
    assert balance == total == 40
    assert versions == list(range(1, version + 1))  # the grant, then one debit
    assert version == 2
    posted = await journals(db, driver, "redeem") + await journals(db, driver, "payout_debit")
    assert posted == 1


async def test_when_both_fit_both_succeed_once(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    driver, _ = await ready_driver(payments, fake_stripe, nova=100)
    merchant = await payments.add_merchant()
    redeemed, paid = await race(payments, driver, merchant, redeem=40, payout=50)
    assert (redeemed.status_code, paid.status_code) == (201, 202), (redeemed.text, paid.text)
    balance, total, version, versions = await wallet_state(db, driver)
    assert balance == total == 10
    assert versions == [1, 2, 3] and version == 3
    assert await journals(db, driver, "redeem") == 1
    assert await journals(db, driver, "payout_debit") == 1
