"""Deadlock freedom (§6c A5): journals over the same two accounts in opposite orders, all
started together, never deadlock (``post_journal`` locks accounts in id order) and every
one of them is applied."""

from __future__ import annotations

import asyncio
import uuid

from payments import ledger_repository
from payments.ledger import JournalKind, driver_wallet, transfer
from payments.ledger_repository import PostStatus

from tests.support.payments_service import PaymentsClient

PAIRS = 20


async def test_opposite_order_journals_do_not_deadlock(payments: PaymentsClient) -> None:
    a, b = await payments.add_driver(1000), await payments.add_driver(1000)
    deps = payments.deps
    barrier = asyncio.Barrier(PAIRS * 2)

    async def move(source: uuid.UUID, destination: uuid.UUID) -> PostStatus:
        journal = transfer(
            JournalKind.ADJUSTMENT,
            f"swap:{uuid.uuid4()}",
            source=driver_wallet(source),
            destination=driver_wallet(destination),
            amount=1,
            actor_type="test",
            actor_id="deadlock",
        )
        async with deps.uow() as tx:
            async with asyncio.timeout(60):
                await barrier.wait()  # every transaction starts its journal at once
            result = await ledger_repository.post(tx, journal)
            return result.status

    results = await asyncio.gather(
        *(move(a, b) for _ in range(PAIRS)), *(move(b, a) for _ in range(PAIRS))
    )
    assert results == [PostStatus.POSTED] * (PAIRS * 2)
    assert await payments.balance(a) == await payments.balance(b) == 1000
