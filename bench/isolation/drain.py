"""Between phases, the charges a phase left behind: a healthy phase must not measure payments
still charging for the phase before it. With Stripe hanging, a whole phase's charges are held
and made after it, some of them only after a retry tier (a charge that timed out is ambiguous
and is looked up again, not posted again), which a fixed pause did not cover."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.polling import eventually

# A charge is settled once Stripe's answer is recorded: succeeded, or failed for good.
SETTLED = text(
    "SELECT count(*) FILTER (WHERE status IN ('succeeded', 'failed')),"
    " count(*) FILTER (WHERE status = 'failed') FROM payments.billing_charges"
)
# A whole phase of held charges settles in well under this on this machine.
DRAIN_LIMIT_SECONDS = 300.0


@asynccontextmanager
async def stack_database(url: str) -> AsyncIterator[AsyncEngine]:
    """One connection to the stack's own database, for the drain's count."""
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


async def settled_charges(database: AsyncEngine) -> tuple[int, int]:
    """(settled, of them failed): the merchant charges payments has finished so far."""
    async with database.connect() as conn:
        settled, failed = (await conn.execute(SETTLED)).one()
    return int(settled), int(failed)


async def charged(database: AsyncEngine, expected: int) -> dict[str, float]:
    """Waits until ``expected`` charges in all are settled; how long it took, and how many of
    all the charges so far failed (none should: the fake Stripe declines nothing here)."""
    began = time.perf_counter()

    async def all_settled() -> tuple[int, int]:
        counts = await settled_charges(database)
        assert counts[0] >= expected, f"{counts[0]} settled"
        return counts

    _, failed = await eventually(
        all_settled,
        timeout=DRAIN_LIMIT_SECONDS,
        interval=0.5,
        what=f"{expected} merchant charges to be settled",
    )
    return {"seconds": round(time.perf_counter() - began, 1), "failed_charges": failed}
